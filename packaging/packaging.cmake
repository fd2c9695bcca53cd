# SPDX-License-Identifier: MIT
#
# Operations: what `cmake --install` adds for running rpcd as a service (the
# man pages, a systemd unit and its environment file) and the Debian package
# (`cpack -G DEB` in the build directory). Included by the top-level
# CMakeLists.txt after its install rules; packaging/README.md tells how to
# build and check the package.
#
# The .deb is meant for a tree configured with -DCMAKE_INSTALL_PREFIX=/usr:
# GNUInstallDirs then gives the multiarch LIBDIR (lib/x86_64-linux-gnu on
# Debian amd64) and /etc for SYSCONFDIR, and the unit names the installed
# paths. cpack -G DEB refuses any other prefix (cpack-project-config.cmake).

# Man pages, as written (man-db reads them uncompressed).
install(FILES ${PROJECT_SOURCE_DIR}/docs/man/rpcctl.1
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${PROJECT_SOURCE_DIR}/docs/man/rpcd-plugin.7
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man7)
install(FILES ${PROJECT_SOURCE_DIR}/docs/man/rpcd.8
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)

# The systemd unit, with the full install paths of this configuration (the
# plugins' directory is plugins/CMakeLists.txt's). systemd reads units from
# PREFIX/lib/systemd/system for the prefixes /usr and /usr/local.
set(RPCD_SYSTEMD_UNIT_DIR "lib/systemd/system" CACHE STRING
    "where rpcd.service is installed (relative to the prefix, or absolute)")
set(RPCD_UNIT_RPCD "${CMAKE_INSTALL_FULL_BINDIR}/rpcd")
set(RPCD_UNIT_PLUGIN_DIR "${CMAKE_INSTALL_FULL_LIBDIR}/rpcd/plugins")
set(RPCD_UNIT_ENV_FILE "${CMAKE_INSTALL_FULL_SYSCONFDIR}/rpcd/rpcd.env")
configure_file(${CMAKE_CURRENT_LIST_DIR}/systemd/rpcd.service.in
               ${PROJECT_BINARY_DIR}/packaging/rpcd.service @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/packaging/rpcd.service
        DESTINATION ${RPCD_SYSTEMD_UNIT_DIR})

# The unit's environment file, 0600: it holds the broker password. With the
# prefix /usr, GNUInstallDirs' SYSCONFDIR is /etc, outside the prefix, so
# the destination is absolute; otherwise it stays relative, so that
# `cmake --install --prefix DIR` puts it under DIR (tests/install does).
if(CMAKE_INSTALL_FULL_SYSCONFDIR STREQUAL
   "${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_SYSCONFDIR}")
  set(RPCD_ENV_DIR "${CMAKE_INSTALL_SYSCONFDIR}/rpcd")
else()
  set(RPCD_ENV_DIR "${CMAKE_INSTALL_FULL_SYSCONFDIR}/rpcd")
endif()
install(FILES ${CMAKE_CURRENT_LIST_DIR}/systemd/rpcd.env
        DESTINATION ${RPCD_ENV_DIR}
        PERMISSIONS OWNER_READ OWNER_WRITE)

# ---- The Debian package: cpack -G DEB ------------------------------------
set(RPCD_DEB_MAINTAINER
    "rpcd maintainers <maintainers@users.noreply.h-seed-c55955f9.example>"
    CACHE STRING "Maintainer of the .deb built by cpack -G DEB")
# The environment file is a conffile: dpkg keeps the administrator's copy on
# upgrade and removes it on purge. CPack 3.25 marks nothing as a conffile by
# itself, so the list goes into the control archive with the maintainer
# scripts.
file(CONFIGURE OUTPUT ${PROJECT_BINARY_DIR}/packaging/deb/conffiles
     CONTENT "${RPCD_UNIT_ENV_FILE}\n")
file(COPY ${CMAKE_CURRENT_LIST_DIR}/debian/postinst
          ${CMAKE_CURRENT_LIST_DIR}/debian/prerm
          ${CMAKE_CURRENT_LIST_DIR}/debian/postrm
     DESTINATION ${PROJECT_BINARY_DIR}/packaging/deb
     FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ
                      GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
file(COPY ${CMAKE_CURRENT_LIST_DIR}/debian/triggers
     DESTINATION ${PROJECT_BINARY_DIR}/packaging/deb
     FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)

set(CPACK_PACKAGE_NAME rpcd)
set(CPACK_PACKAGE_VENDOR "rpcd")
set(CPACK_PACKAGE_CONTACT "${RPCD_DEB_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "pluggable RPC dispatcher over RabbitMQ")
set(CPACK_PACKAGE_DESCRIPTION
    "rpcd consumes msgpack-RPC requests from a RabbitMQ queue, runs them in\n\
plugins (shared objects) loaded into crash-isolated worker processes, and\n\
publishes the replies. A handler that crashes or overruns its time limit\n\
costs its caller one error reply and nothing else; plugins reload on\n\
SIGHUP without losing a request.\n\
\n\
This package holds the server (rpcd, with a systemd unit), the command-line\n\
client (rpcctl), the client library librpcd_client with its headers, the\n\
plugin header, pkg-config files and CMake package, and two plugins: fib and\n\
kv.")
# Package what this configuration installs, where it installs it: the unit
# names the configured paths (see above).
set(CPACK_PACKAGING_INSTALL_PREFIX "${CMAKE_INSTALL_PREFIX}")
set(CPACK_STRIP_FILES ON)
set(CPACK_PROJECT_CONFIG_FILE
    ${CMAKE_CURRENT_LIST_DIR}/cpack-project-config.cmake)
set(CPACK_SOURCE_IGNORE_FILES "/\\\\.git/" "/build/" "~$")

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${RPCD_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The shared libraries the binaries link (librabbitmq4, libssl3, ...), by
# dpkg-shlibdeps; procps for /bin/kill, the unit's ExecReload=.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "procps")
# What building against the headers and pkg-config files takes, and a
# broker to talk to.
set(CPACK_DEBIAN_PACKAGE_SUGGESTS
    "rabbitmq-server, pkg-config, libmsgpack-dev, librabbitmq-dev, uuid-dev, libssl-dev")
# A shlibs file for librpcd_client.so.0. CPack would call ldconfig from the
# postinst and postrm it writes; with ours, debian/triggers does.
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_BINARY_DIR}/packaging/deb/conffiles
    ${PROJECT_BINARY_DIR}/packaging/deb/postinst
    ${PROJECT_BINARY_DIR}/packaging/deb/prerm
    ${PROJECT_BINARY_DIR}/packaging/deb/postrm
    ${PROJECT_BINARY_DIR}/packaging/deb/triggers)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
include(CPack)
