# mihua-as unit tests (cmocka): registrar rules, call table, proxy edits. Paths are relative to tests/.
mihua_unit_test(test_as_registrar SOURCES unit/test_as_registrar.c LIBS mihua_as)
mihua_unit_test(test_as_calls SOURCES unit/test_as_calls.c LIBS mihua_as)
mihua_unit_test(test_as_overload SOURCES unit/test_as_overload.c LIBS mihua_as)
mihua_unit_test(test_as_proxy SOURCES unit/test_as_proxy.c LIBS mihua_as)
mihua_unit_test(test_as_diam_conf SOURCES unit/test_as_diam_conf.c LIBS mihua_as)
