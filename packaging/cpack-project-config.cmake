# SPDX-License-Identifier: MIT
#
# Read by cpack for each generator it runs (CPACK_PROJECT_CONFIG_FILE, set
# in packaging.cmake). For the .deb it refuses what would make a broken
# package rather than build one.
if(CPACK_GENERATOR STREQUAL "DEB")
  # The unit, the plugin directory and /etc/rpcd are right for the prefix
  # /usr only (GNUInstallDirs' multiarch LIBDIR and /etc).
  if(NOT CPACK_PACKAGING_INSTALL_PREFIX STREQUAL "/usr")
    message(FATAL_ERROR
      "rpcd: the .deb is built from a tree configured with "
      "-DCMAKE_INSTALL_PREFIX=/usr; this one was configured with "
      "${CPACK_PACKAGING_INSTALL_PREFIX} (see packaging/README.md)")
  endif()
  # Without dpkg-shlibdeps CPack would write a package without its library
  # dependencies, silently.
  find_program(RPCD_DPKG_SHLIBDEPS dpkg-shlibdeps)
  if(NOT RPCD_DPKG_SHLIBDEPS)
    message(FATAL_ERROR
      "rpcd: dpkg-shlibdeps is needed to compute the .deb's Depends "
      "(apt-get install dpkg-dev)")
  endif()
endif()
