# `mpirun -np 2 fabtwin whatif run` writes the same bytes as one process: results.csv,
# results.json and chart.png compared byte for byte. cmake -P with FABTWIN, MPIRUN, SPEC, WORK.
file(REMOVE_RECURSE ${WORK})
execute_process(COMMAND ${FABTWIN} whatif run ${SPEC} --out ${WORK}/single --quiet RESULT_VARIABLE rc1
                ERROR_VARIABLE err1)
if(NOT rc1 EQUAL 0)
  message(FATAL_ERROR "single process: exit ${rc1}: ${err1}")
endif()
execute_process(COMMAND ${MPIRUN} --allow-run-as-root --oversubscribe -np 2 ${FABTWIN} whatif run ${SPEC}
                        --out ${WORK}/mpi --quiet --threads 1
                RESULT_VARIABLE rc2 OUTPUT_VARIABLE out2 ERROR_VARIABLE err2)
if(NOT rc2 EQUAL 0)
  message(FATAL_ERROR "mpirun -np 2: exit ${rc2}: ${out2} ${err2}")
endif()
foreach(f results.csv results.json chart.png)
  if(NOT EXISTS ${WORK}/mpi/${f})
    message(FATAL_ERROR "mpirun -np 2 wrote no ${f}")
  endif()
  file(SHA256 ${WORK}/single/${f} a)
  file(SHA256 ${WORK}/mpi/${f} b)
  if(NOT a STREQUAL b)
    message(FATAL_ERROR "${f} differs between one process and mpirun -np 2")
  endif()
endforeach()
# The two ranks really split the pairs: each ran a share (the summary line names the ranks).
execute_process(COMMAND ${MPIRUN} --allow-run-as-root --oversubscribe -np 2 ${FABTWIN} whatif run ${SPEC}
                        --out ${WORK}/mpi2 --threads 1
                RESULT_VARIABLE rc3 OUTPUT_VARIABLE out3 ERROR_VARIABLE err3)
if(NOT rc3 EQUAL 0 OR NOT out3 MATCHES "on 2 rank")
  message(FATAL_ERROR "mpirun -np 2 did not run as 2 ranks: ${out3} ${err3}")
endif()
message(STATUS "identical: results.csv results.json chart.png")
