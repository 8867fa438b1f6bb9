#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>

#include "fabtwin/viewer/renderer.hpp"

namespace fabtwin::viewer {

model::Result<bool> write_png(const std::string& path, int width, int height,
                              const std::vector<std::uint8_t>& rgba) {
  if (rgba.size() != static_cast<std::size_t>(width) * static_cast<std::size_t>(height) * 4)
    return model::Error{path, 0, "", "image size does not match its pixels"};
  if (!stbi_write_png(path.c_str(), width, height, 4, rgba.data(), width * 4))
    return model::Error{path, 0, "", "cannot write the PNG file"};
  return true;
}

}  // namespace fabtwin::viewer
