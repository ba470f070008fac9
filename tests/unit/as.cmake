# mihua-as unit tests (cmocka): registrar rules, call table, proxy edits. Paths are relative to tests/.
mihua_unit_test(test_as_registrar SOURCES unit/test_as_registrar.c LIBS mihua_as)
mihua_unit_test(test_as_calls SOURCES unit/test_as_calls.c LIBS mihua_as)
mihua_unit_test(test_as_overload SOURCES unit/test_as_overload.c LIBS mihua_as)
mihua_unit_test(test_as_proxy SOURCES unit/test_as_proxy.c LIBS mihua_as)
mihua_unit_test(test_as_diam_conf SOURCES unit/test_as_diam_conf.c LIBS mihua_as)

# as_gateway's files call only downward: no cycle between them (scripts/calls-graph, on this build's objects).
add_test(NAME unit.calls_graph_as COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/unit/calls_graph.sh ${CMAKE_BINARY_DIR}
         as_gateway)
set_tests_properties(unit.calls_graph_as PROPERTIES LABELS unit ENVIRONMENT "CC=${CMAKE_C_COMPILER}")
