# Layering held by the build (DESIGN §2, STYLE §1). Each src/<layer> target compiles against its
# own include root, <build>/layers/<layer>/, holding links to its own folder and to the folders of
# the layers cmake/layers.txt lets it use, and nothing else: `#include "http/..."` in a storage
# file fails with "No such file or directory". Linking a higher layer's library is a configure
# error, since that library's include root would come with it. scripts/check-layering makes the
# same check by reading the sources, for includes a compiler cannot catch ("../http/x.h").

file(STRINGS ${CMAKE_SOURCE_DIR}/cmake/layers.txt layer_lines REGEX "^[a-z]+:")
foreach(line ${layer_lines})
  string(REGEX MATCH "^([a-z]+):(.*)$" unused "${line}")
  set(layer ${CMAKE_MATCH_1})
  string(STRIP "${CMAKE_MATCH_2}" uses)
  separate_arguments(uses UNIX_COMMAND "${uses}")
  # Layers are listed bottom-up, so the closure of every layer used is already known.
  set(allowed ${layer})
  foreach(used ${uses})
    if(NOT DEFINED MCP_LAYER_ALLOWED_${used})
      message(FATAL_ERROR "cmake/layers.txt: '${layer}' uses '${used}', which is not listed above it")
    endif()
    list(APPEND allowed ${MCP_LAYER_ALLOWED_${used}})
  endforeach()
  list(REMOVE_DUPLICATES allowed)
  set(MCP_LAYER_ALLOWED_${layer} ${allowed})
endforeach()

# The include root of `layer`, made (or refreshed) at configure time.
function(mcp_layer_include_root layer out)
  set(root ${CMAKE_BINARY_DIR}/layers/${layer})
  file(MAKE_DIRECTORY ${root})
  file(GLOB old_links ${root}/*)
  if(old_links)
    file(REMOVE ${old_links})  # links only: file(REMOVE) never descends into a linked folder
  endif()
  foreach(folder ${MCP_LAYER_ALLOWED_${layer}})
    if(EXISTS ${CMAKE_SOURCE_DIR}/src/${folder})
      file(CREATE_LINK ${CMAKE_SOURCE_DIR}/src/${folder} ${root}/${folder} SYMBOLIC)
    endif()
  endforeach()
  set(${out} ${root} PARENT_SCOPE)
endfunction()

# Gives the target of `layer` its include root and checks the layer libraries it links.
function(mcp_layer target layer)
  if(NOT DEFINED MCP_LAYER_ALLOWED_${layer})
    message(FATAL_ERROR "${target}: no layer '${layer}' in cmake/layers.txt")
  endif()
  mcp_layer_include_root(${layer} root)
  target_include_directories(${target} PUBLIC ${root})
  get_target_property(linked ${target} LINK_LIBRARIES)
  foreach(lib ${linked})
    if(lib MATCHES "^mcp_([a-z]+)$" AND NOT CMAKE_MATCH_1 IN_LIST MCP_LAYER_ALLOWED_${layer})
      message(FATAL_ERROR "${target} (layer ${layer}) links ${lib}: cmake/layers.txt does not "
                          "let ${layer} use ${CMAKE_MATCH_1}")
    endif()
  endforeach()
endfunction()
