# Replays of the fuzz targets' committed inputs as ordinary ctests, in every
# build (gcc too, no libFuzzer): fuzz/regression_runner.c is compiled with
# each target's .c file and feeds it every file under
# fuzz/regressions/<target>/ (minimized crashers and hostile inputs) and
# fuzz/corpus/<target>/ (seeds). Included from tests/CMakeLists.txt.

set(RPCD_FUZZ_DIR ${PROJECT_SOURCE_DIR}/fuzz)
foreach(t fuzz_request fuzz_reply fuzz_mp_decode fuzz_params)
  add_executable(${t}_replay ${RPCD_FUZZ_DIR}/${t}.c
                             ${RPCD_FUZZ_DIR}/regression_runner.c)
  target_link_libraries(${t}_replay PRIVATE rpcd_common)
  add_test(NAME ${t}_regressions
           COMMAND ${t}_replay ${RPCD_FUZZ_DIR}/regressions/${t}
                   ${RPCD_FUZZ_DIR}/corpus/${t})
  set_tests_properties(${t}_regressions PROPERTIES LABELS "unit;fuzz"
                                                   TIMEOUT 120)
endforeach()
target_link_libraries(fuzz_params_replay PRIVATE rpcd_core)
