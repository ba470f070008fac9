# mihua-ue unit tests (cmocka). Paths are relative to tests/.
mihua_unit_test(test_ue SOURCES unit/test_ue.c LIBS mihua_ue mihua_kms)
mihua_unit_test(test_ue_media SOURCES unit/test_ue_media.c LIBS mihua_ue)
