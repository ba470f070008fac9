# mihua_as_checks — the AS's encryption checks (DESIGN §3): the decision (as_decide.c), Sh path to the HSS, SBI
# path to the UDM.
# Included from as_gateway/CMakeLists.txt, so paths are relative to as_gateway/. Include its header as "as_checks.h".
add_library(mihua_as_checks STATIC as_checks.c as_decide.c as_policy.c as_sh_path.c as_udm_path.c as_facts_cache.c
  as_push.c)
target_include_directories(mihua_as_checks PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(mihua_as_checks PUBLIC mihua_diameter mihua_sbi mihua_core PkgConfig::LIBEVENT
  PkgConfig::JANSSON pthread)
