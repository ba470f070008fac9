# Installation and the Debian package (cpack -G DEB): the programs in /usr/bin, a man page per program generated
# from its own --help (man-from-help.sh), example configs in /etc/mihua (conffiles) that keep state in
# /var/lib/mihua, and one systemd unit per daemon (Type=simple: the daemons log to stderr and stay in the
# foreground; Restart=on-failure; User=mihua, created by postinst). Included from the top-level CMakeLists.txt.
set(MIHUA_PROGRAMS mihua-hss mihua-udm mihua-kms mihua-as mihua-ue mihua-probe mihua-subscribers)
set(MIHUA_DAEMONS mihua-hss mihua-udm mihua-kms mihua-as)

install(TARGETS ${MIHUA_PROGRAMS} RUNTIME DESTINATION bin)

set(man_pages)
foreach(p ${MIHUA_PROGRAMS})
  set(page ${CMAKE_BINARY_DIR}/man/${p}.1.gz)
  add_custom_command(OUTPUT ${page}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
    COMMAND ${CMAKE_CURRENT_LIST_DIR}/man-from-help.sh $<TARGET_FILE:${p}> ${CMAKE_BINARY_DIR}/man/${p}.1
    COMMAND gzip -9nf ${CMAKE_BINARY_DIR}/man/${p}.1
    DEPENDS ${p} ${CMAKE_CURRENT_LIST_DIR}/man-from-help.sh
    COMMENT "man page of ${p} from its --help")
  list(APPEND man_pages ${page})
endforeach()
add_custom_target(man-pages ALL DEPENDS ${man_pages})
install(FILES ${man_pages} DESTINATION share/man/man1)

set(dir ${CMAKE_CURRENT_LIST_DIR})
install(FILES ${dir}/etc/hss.json ${dir}/etc/udm.json ${dir}/etc/kms.json ${dir}/etc/as.json
        DESTINATION /etc/mihua)
install(FILES ${dir}/etc/subscribers.json DESTINATION /etc/mihua PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)
foreach(d ${MIHUA_DAEMONS})
  install(FILES ${dir}/systemd/${d}.service DESTINATION /lib/systemd/system)
endforeach()
install(FILES ${CMAKE_SOURCE_DIR}/README.md DESTINATION share/doc/mihua)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME mihua)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "mihua maintainers <mihua@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "end-to-end encrypted VoLTE/VoNR calls: IMS AS, HSS/UDM simulators, KMS, UE agents")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# freeDiameter's dictionary and ACL extensions are loaded at run time (dlopen): no shlibs entry names them.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "freediameter-extensions, adduser")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "wireshark-common")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA "${dir}/debian/postinst;${dir}/debian/conffiles")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
