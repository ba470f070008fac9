# lib/sbi unit tests (cmocka). Paths are relative to tests/.
mihua_unit_test(test_sbi SOURCES unit/test_sbi.c LIBS mihua_sbi)
mihua_unit_test(test_sbi_loop SOURCES unit/test_sbi_loop.c LIBS mihua_sbi)
# udm_sim's resource module, tested in-process with the lib/sbi client (no daemon).
mihua_unit_test(test_sbi_udm SOURCES unit/test_sbi_udm.c ${CMAKE_SOURCE_DIR}/udm_sim/udm_nudm_path.c
  LIBS mihua_sbi mihua_subscriber)
target_include_directories(test_sbi_udm PRIVATE ${CMAKE_SOURCE_DIR}/udm_sim)
mihua_unit_test(test_sbi_auth SOURCES unit/test_sbi_auth.c LIBS mihua_sbi)
