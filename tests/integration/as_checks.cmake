# mihua-as encryption checks against real mihua-hss and mihua-udm (DESIGN §3): the test driver (built with the
# tests, into build/tests/) and the script. Paths are relative to tests/.
add_executable(mihua-as-checks-cli integration/as_checks_cli.c)
target_link_libraries(mihua-as-checks-cli PRIVATE mihua_as_checks)
set_target_properties(mihua-as-checks-cli PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
mihua_integration_test(as_checks as_checks.sh)
mihua_integration_test(as_push as_push.sh)
