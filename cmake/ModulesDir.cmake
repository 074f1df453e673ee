# SPDX-License-Identifier: Apache-2.0
# Where `cmake --install` puts schsm.so, and the default install prefix.
#
# OpenSSL loads providers from its MODULESDIR (`openssl version -m`, and the `modulesdir` variable of
# libcrypto's pkg-config file). The module goes to the same directory *relative to the prefix*:
# with OpenSSL's prefix (/usr on Debian) that is OpenSSL's MODULESDIR itself, so `-provider schsm`
# and `openssl.cnf` find it without a `module =` line; with `--prefix P` it is
# P/lib/<multiarch>/ossl-modules, and nothing is written outside P.
#
#   -DSCHSM_MODULESDIR=DIR   overrides (relative: under the prefix; absolute: exactly there)
#
# When no CMAKE_INSTALL_PREFIX is given, the default is OpenSSL's own prefix rather than CMake's
# /usr/local: a module under /usr/local is one OpenSSL never looks at.

set(_schsm_ossl_prefix "")
set(_schsm_ossl_modulesdir "")
if(PKG_CONFIG_EXECUTABLE)
  execute_process(COMMAND ${PKG_CONFIG_EXECUTABLE} --variable=modulesdir libcrypto
                  OUTPUT_VARIABLE _schsm_ossl_modulesdir OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  execute_process(COMMAND ${PKG_CONFIG_EXECUTABLE} --variable=prefix libcrypto
                  OUTPUT_VARIABLE _schsm_ossl_prefix OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
endif()
if(NOT _schsm_ossl_modulesdir)
  # Older pkg-config files lack modulesdir: ask the openssl program.
  execute_process(COMMAND openssl version -m OUTPUT_VARIABLE _schsm_line
                  OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  string(REGEX REPLACE "^MODULESDIR: \"(.*)\"$" "\\1" _schsm_ossl_modulesdir "${_schsm_line}")
  if(NOT _schsm_ossl_prefix)
    set(_schsm_ossl_prefix /usr)
  endif()
endif()

if(CMAKE_INSTALL_PREFIX_INITIALIZED_TO_DEFAULT AND _schsm_ossl_prefix)
  set(CMAKE_INSTALL_PREFIX "${_schsm_ossl_prefix}" CACHE PATH "Install prefix (default: OpenSSL's prefix)" FORCE)
endif()

# The module directory relative to OpenSSL's prefix, e.g. lib/x86_64-linux-gnu/ossl-modules.
set(_schsm_default_moddir lib/ossl-modules)
if(_schsm_ossl_modulesdir AND _schsm_ossl_prefix)
  file(RELATIVE_PATH _schsm_rel "${_schsm_ossl_prefix}" "${_schsm_ossl_modulesdir}")
  if(_schsm_rel AND NOT _schsm_rel MATCHES "^\\.\\.")
    set(_schsm_default_moddir "${_schsm_rel}")
  endif()
endif()
set(SCHSM_MODULESDIR "${_schsm_default_moddir}" CACHE STRING
    "Where schsm.so is installed: relative to the install prefix, or absolute")
message(STATUS "schsm: provider module installs to ${SCHSM_MODULESDIR} (prefix ${CMAKE_INSTALL_PREFIX}; OpenSSL MODULESDIR ${_schsm_ossl_modulesdir})")
