# lib/sip and lib/sdp unit tests (cmocka). Paths are relative to tests/.
mihua_unit_test(test_sip_parse SOURCES unit/test_sip_parse.c LIBS mihua_sip)
mihua_unit_test(test_sip_edit SOURCES unit/test_sip_edit.c LIBS mihua_sip)
mihua_unit_test(test_sdp SOURCES unit/test_sdp.c LIBS mihua_sdp)
mihua_unit_test(test_sip_txn SOURCES unit/test_sip_txn.c LIBS mihua_sip)
mihua_unit_test(test_sip_transport SOURCES unit/test_sip_transport.c LIBS mihua_sip)

# libosip2 as an oracle only (never linked into a program): field-by-field agreement on tests/data/sip/.
pkg_check_modules(OSIP2 IMPORTED_TARGET libosip2)
if(OSIP2_FOUND)
  mihua_unit_test(test_sip_oracle SOURCES unit/test_sip_oracle.c LIBS mihua_sip PkgConfig::OSIP2)
endif()

# lib/sip's files call only downward: no cycle between them (scripts/calls-graph, on this build's objects).
add_test(NAME unit.calls_graph_sip COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/unit/calls_graph.sh ${CMAKE_BINARY_DIR}
         lib/sip)
set_tests_properties(unit.calls_graph_sip PROPERTIES LABELS unit ENVIRONMENT "CC=${CMAKE_C_COMPILER}")
