# lib/srtp unit tests (cmocka). Paths are relative to tests/.
mihua_unit_test(test_srtp_prim SOURCES unit/test_srtp_prim.c LIBS mihua_srtp)
mihua_unit_test(test_srtp SOURCES unit/test_srtp.c LIBS mihua_srtp mihua_kms)
# Interop oracle: libsrtp2 (tests only). Its own file keeps libsrtp2's srtp_* namespace away from the other tests.
if(TARGET PkgConfig::LIBSRTP2)
  mihua_unit_test(test_srtp_interop SOURCES unit/test_srtp_interop.c LIBS mihua_srtp PkgConfig::LIBSRTP2)
endif()
