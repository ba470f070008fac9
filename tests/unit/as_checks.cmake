# mihua-as encryption checks (DESIGN §3): the decision exhaustively, policy names, identity → MSISDN, and the pure
# parts of the Sh and UDM paths, and the module on a real loop against a fake UDM. Paths are relative to tests/.
mihua_unit_test(test_as_decide SOURCES unit/test_as_decide.c LIBS mihua_as_checks)
mihua_unit_test(test_as_paths SOURCES unit/test_as_paths.c LIBS mihua_as_checks)
mihua_unit_test(test_as_checks_loop SOURCES unit/test_as_checks_loop.c LIBS mihua_as_checks)
mihua_unit_test(test_as_facts SOURCES unit/test_as_facts.c LIBS mihua_as_checks)
