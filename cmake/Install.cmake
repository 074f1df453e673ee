# SPDX-License-Identifier: Apache-2.0
# What `cmake --install` writes besides the programs and the module (see cmake/ModulesDir.cmake):
# the documentation, an example openssl.cnf snippet and the man pages. Every path is relative to
# the install prefix, so `cmake --install build --prefix P` writes only below P.
# Uninstall: `xargs rm -f < build/install_manifest.txt` (README.md).
include(GNUInstallDirs)

set(SCHSM_DOCDIR ${CMAKE_INSTALL_DATAROOTDIR}/doc/schsm)
install(FILES README.md CHANGELOG.md LICENSE DESTINATION ${SCHSM_DOCDIR})
# Debian's place for the licence notice (the full text is in /usr/share/common-licenses).
install(FILES cmake/copyright DESTINATION ${SCHSM_DOCDIR})
install(DIRECTORY docs/ DESTINATION ${SCHSM_DOCDIR}/docs FILES_MATCHING PATTERN "*.md")
install(FILES examples/schsm.cnf DESTINATION ${SCHSM_DOCDIR}/examples)
install(FILES man/schsm-tool.1 man/schsm-sim.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES man/schsm.7 DESTINATION ${CMAKE_INSTALL_MANDIR}/man7)

# A module installed outside OpenSSL's MODULESDIR is only found when OpenSSL is told where it is:
# say so at install time (the prefix is known only then: `cmake --install --prefix P`).
if(NOT IS_ABSOLUTE "${SCHSM_MODULESDIR}" AND _schsm_ossl_modulesdir)
  install(CODE "
    set(_schsm_mod \"\${CMAKE_INSTALL_PREFIX}/${SCHSM_MODULESDIR}\")
    if(NOT _schsm_mod STREQUAL \"${_schsm_ossl_modulesdir}\")
      message(STATUS \"schsm: OpenSSL looks for providers in ${_schsm_ossl_modulesdir}, not in \${_schsm_mod}: \"
                     \"name the module in openssl.cnf (module = \${_schsm_mod}/schsm.so), \"
                     \"or set OPENSSL_MODULES=\${_schsm_mod}, or use -provider-path \${_schsm_mod}\")
    endif()")
endif()
