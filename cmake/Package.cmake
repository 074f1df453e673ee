# SPDX-License-Identifier: Apache-2.0
# The Debian package: `cd build && cpack -G DEB` writes schsm_<version>_<arch>.deb with the module
# (in OpenSSL's MODULESDIR), the tools, the man pages and the docs. scripts/deb-test.sh builds,
# installs, uses and removes it.
set(CPACK_PACKAGE_NAME schsm)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "schsm")
set(CPACK_PACKAGE_CONTACT "schsm maintainers <schsm@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "OpenSSL 3 provider for the SmartCard-HSM (Nitrokey HSM 2)")
set(CPACK_PACKAGE_DESCRIPTION
"schsm makes keys held in a CardContact SmartCard-HSM (Nitrokey HSM 2) usable by every
OpenSSL 3 application: the openssl command line, nginx and HAProxy TLS, and any program
that opens an schsm: OSSL_STORE URI or loads a key-reference file. It speaks the card's
own APDUs over PC/SC, without PKCS#11 or OpenSC.
.
The package holds the provider module, schsm-tool (key and PIN management) and
schsm-sim (a virtual SmartCard-HSM for tests and demos).")
set(CPACK_RESOURCE_FILE_LICENSE ${CMAKE_SOURCE_DIR}/LICENSE)
# The install rules already use OpenSSL's prefix; the package must install there too.
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_GENERATOR DEB)

set(CPACK_DEBIAN_PACKAGE_NAME schsm)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libssl3 (>= 3.0.0), libpcsclite1 (>= 1.9), libc6")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "pcscd")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "vsmartcard-vpcd, opensc")
include(CPack)
