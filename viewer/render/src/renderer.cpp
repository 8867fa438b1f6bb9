#include "fabtwin/viewer/renderer.hpp"

#define GLFW_INCLUDE_VULKAN
#include <GLFW/glfw3.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <optional>

namespace fabtwin::viewer {

namespace {
const std::uint32_t kVertSpv[] =
#include "scene.vert.inc"
    ;
const std::uint32_t kFragSpv[] =
#include "scene.frag.inc"
    ;

const char* vk_name(VkResult r) {
  switch (r) {
    case VK_SUCCESS:
      return "VK_SUCCESS";
    case VK_NOT_READY:
      return "VK_NOT_READY";
    case VK_TIMEOUT:
      return "VK_TIMEOUT";
    case VK_SUBOPTIMAL_KHR:
      return "VK_SUBOPTIMAL_KHR";
    case VK_ERROR_OUT_OF_HOST_MEMORY:
      return "VK_ERROR_OUT_OF_HOST_MEMORY";
    case VK_ERROR_OUT_OF_DEVICE_MEMORY:
      return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
    case VK_ERROR_INITIALIZATION_FAILED:
      return "VK_ERROR_INITIALIZATION_FAILED";
    case VK_ERROR_DEVICE_LOST:
      return "VK_ERROR_DEVICE_LOST";
    case VK_ERROR_LAYER_NOT_PRESENT:
      return "VK_ERROR_LAYER_NOT_PRESENT";
    case VK_ERROR_EXTENSION_NOT_PRESENT:
      return "VK_ERROR_EXTENSION_NOT_PRESENT";
    case VK_ERROR_FEATURE_NOT_PRESENT:
      return "VK_ERROR_FEATURE_NOT_PRESENT";
    case VK_ERROR_INCOMPATIBLE_DRIVER:
      return "VK_ERROR_INCOMPATIBLE_DRIVER";
    case VK_ERROR_FORMAT_NOT_SUPPORTED:
      return "VK_ERROR_FORMAT_NOT_SUPPORTED";
    case VK_ERROR_SURFACE_LOST_KHR:
      return "VK_ERROR_SURFACE_LOST_KHR";
    case VK_ERROR_OUT_OF_DATE_KHR:
      return "VK_ERROR_OUT_OF_DATE_KHR";
    default:
      return "VkResult error";
  }
}

model::Error vk_error(const char* what, VkResult r) {
  return model::Error{"", 0, "", std::string("Vulkan: ") + what + " failed (" + vk_name(r) + ")"};
}
model::Error plain(std::string m) { return model::Error{"", 0, "", "Vulkan: " + std::move(m)}; }

#define FT_VK(call, what)                            \
  do {                                               \
    VkResult r_ = (call);                            \
    if (r_ != VK_SUCCESS) return vk_error(what, r_); \
  } while (0)

struct Buffer {
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceMemory memory = VK_NULL_HANDLE;
  void* mapped = nullptr;
  VkDeviceSize size = 0;
};

struct Image {
  VkImage image = VK_NULL_HANDLE;
  VkDeviceMemory memory = VK_NULL_HANDLE;
  VkImageView view = VK_NULL_HANDLE;
};

struct GpuMesh {
  Buffer vertices, indices, instances;
  std::uint32_t index_count = 0, instance_count = 0;
  bool tool = false;                  // an equipment mesh (level of detail applies)
  float lod_scale[4] = {1, 1, 1, 0};  // its bounding box as a scaled unit box (far away)
  float lod_offset[4] = {0, 0, 0, 0};
};

VKAPI_ATTR VkBool32 VKAPI_CALL on_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                          VkDebugUtilsMessageTypeFlagsEXT,
                                          const VkDebugUtilsMessengerCallbackDataEXT* data, void* user) {
  if (severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT) {
    static_cast<std::atomic<std::uint32_t>*>(user)->fetch_add(1);
    std::fprintf(stderr, "fabtwin-viewer: validation: %s\n", data && data->pMessage ? data->pMessage : "?");
  }
  return VK_FALSE;
}
}  // namespace

struct Renderer::Impl {
  RenderOptions opt;
  VkInstance instance = VK_NULL_HANDLE;
  VkDebugUtilsMessengerEXT messenger = VK_NULL_HANDLE;
  std::atomic<std::uint32_t> messages{0};
  bool validation = false;
  VkSurfaceKHR surface = VK_NULL_HANDLE;
  VkPhysicalDevice phys = VK_NULL_HANDLE;
  VkPhysicalDeviceMemoryProperties mem_props{};
  std::string device_name;
  std::uint32_t family = 0;
  VkDevice device = VK_NULL_HANDLE;
  VkQueue queue = VK_NULL_HANDLE;
  VkFormat colour_format = VK_FORMAT_R8G8B8A8_UNORM;
  VkFormat depth_format = VK_FORMAT_UNDEFINED;
  VkRenderPass pass = VK_NULL_HANDLE;
  VkPipelineLayout layout = VK_NULL_HANDLE;
  VkPipeline pipeline = VK_NULL_HANDLE;
  VkCommandPool pool = VK_NULL_HANDLE;
  VkCommandBuffer cmd = VK_NULL_HANDLE;
  VkFence fence = VK_NULL_HANDLE;
  std::vector<GpuMesh> meshes;
  int width = 0, height = 0;
  // Headless target.
  Image colour, depth;
  VkFramebuffer framebuffer = VK_NULL_HANDLE;
  Buffer readback;
  bool have_pixels = false;
  bool pixels_bgra = false;
  // Windowed.
  VkSwapchainKHR swapchain = VK_NULL_HANDLE;
  std::vector<VkImage> sc_images;
  std::vector<VkImageView> sc_views;
  std::vector<VkFramebuffer> sc_framebuffers;
  std::vector<VkSemaphore> sc_done;
  VkSemaphore acquired = VK_NULL_HANDLE;
  bool sc_transfer_src = false;

  ~Impl() { destroy(); }

  std::optional<std::uint32_t> memory_type(std::uint32_t bits, VkMemoryPropertyFlags flags) const {
    for (std::uint32_t i = 0; i < mem_props.memoryTypeCount; ++i)
      if ((bits & (1u << i)) && (mem_props.memoryTypes[i].propertyFlags & flags) == flags) return i;
    return std::nullopt;
  }

  model::Result<bool> make_buffer(Buffer& b, VkDeviceSize size, VkBufferUsageFlags usage) {
    b.size = std::max<VkDeviceSize>(size, 16);
    VkBufferCreateInfo bi{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
    bi.size = b.size;
    bi.usage = usage;
    bi.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
    FT_VK(vkCreateBuffer(device, &bi, nullptr, &b.buffer), "vkCreateBuffer");
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(device, b.buffer, &req);
    auto type = memory_type(req.memoryTypeBits,
                            VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
    if (!type) return plain("no host-visible coherent memory type");
    VkMemoryAllocateInfo ai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
    ai.allocationSize = req.size;
    ai.memoryTypeIndex = *type;
    FT_VK(vkAllocateMemory(device, &ai, nullptr, &b.memory), "vkAllocateMemory");
    FT_VK(vkBindBufferMemory(device, b.buffer, b.memory, 0), "vkBindBufferMemory");
    FT_VK(vkMapMemory(device, b.memory, 0, VK_WHOLE_SIZE, 0, &b.mapped), "vkMapMemory");
    return true;
  }

  void free_buffer(Buffer& b) {
    if (b.buffer) vkDestroyBuffer(device, b.buffer, nullptr);
    if (b.memory) vkFreeMemory(device, b.memory, nullptr);
    b = Buffer{};
  }

  model::Result<bool> make_image(Image& img, VkFormat format, VkImageUsageFlags usage,
                                 VkImageAspectFlags aspect) {
    VkImageCreateInfo ii{VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO};
    ii.imageType = VK_IMAGE_TYPE_2D;
    ii.format = format;
    ii.extent = {static_cast<std::uint32_t>(width), static_cast<std::uint32_t>(height), 1};
    ii.mipLevels = 1;
    ii.arrayLayers = 1;
    ii.samples = VK_SAMPLE_COUNT_1_BIT;
    ii.tiling = VK_IMAGE_TILING_OPTIMAL;
    ii.usage = usage;
    ii.initialLayout = VK_IMAGE_LAYOUT_UNDEFINED;
    FT_VK(vkCreateImage(device, &ii, nullptr, &img.image), "vkCreateImage");
    VkMemoryRequirements req;
    vkGetImageMemoryRequirements(device, img.image, &req);
    auto type = memory_type(req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
    if (!type) type = memory_type(req.memoryTypeBits, 0);
    if (!type) return plain("no memory type for an image");
    VkMemoryAllocateInfo ai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
    ai.allocationSize = req.size;
    ai.memoryTypeIndex = *type;
    FT_VK(vkAllocateMemory(device, &ai, nullptr, &img.memory), "vkAllocateMemory");
    FT_VK(vkBindImageMemory(device, img.image, img.memory, 0), "vkBindImageMemory");
    VkImageViewCreateInfo vi{VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO};
    vi.image = img.image;
    vi.viewType = VK_IMAGE_VIEW_TYPE_2D;
    vi.format = format;
    vi.subresourceRange = {aspect, 0, 1, 0, 1};
    FT_VK(vkCreateImageView(device, &vi, nullptr, &img.view), "vkCreateImageView");
    return true;
  }

  void free_image(Image& img) {
    if (img.view) vkDestroyImageView(device, img.view, nullptr);
    if (img.image) vkDestroyImage(device, img.image, nullptr);
    if (img.memory) vkFreeMemory(device, img.memory, nullptr);
    img = Image{};
  }

  model::Result<bool> create_instance() {
    std::uint32_t version = 0;
    if (vkEnumerateInstanceVersion(&version) != VK_SUCCESS || version < VK_API_VERSION_1_1)
      return plain("no Vulkan 1.1 loader (install libvulkan1 and a driver, e.g. mesa-vulkan-drivers)");
    std::vector<const char*> exts, layers;
    if (opt.window) {
      std::uint32_t n = 0;
      const char** names = glfwGetRequiredInstanceExtensions(&n);
      if (!names) return plain("GLFW found no Vulkan surface support for this display");
      exts.assign(names, names + n);
    }
    std::uint32_t n_ext = 0;
    vkEnumerateInstanceExtensionProperties(nullptr, &n_ext, nullptr);
    std::vector<VkExtensionProperties> have_ext(n_ext);
    vkEnumerateInstanceExtensionProperties(nullptr, &n_ext, have_ext.data());
    auto has_ext = [&](const char* e) {
      return std::any_of(have_ext.begin(), have_ext.end(),
                         [&](const auto& p) { return std::strcmp(p.extensionName, e) == 0; });
    };
    for (auto* e : exts)
      if (!has_ext(e)) return plain(std::string("missing instance extension ") + e);
    if (opt.validation) {
      std::uint32_t n = 0;
      vkEnumerateInstanceLayerProperties(&n, nullptr);
      std::vector<VkLayerProperties> have(n);
      vkEnumerateInstanceLayerProperties(&n, have.data());
      bool found = std::any_of(have.begin(), have.end(), [](const auto& l) {
        return std::strcmp(l.layerName, "VK_LAYER_KHRONOS_validation") == 0;
      });
      if (!found)
        return plain(
            "validation requested but VK_LAYER_KHRONOS_validation is not installed "
            "(vulkan-validationlayers)");
      if (!has_ext(VK_EXT_DEBUG_UTILS_EXTENSION_NAME))
        return plain("missing instance extension " VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
      layers.push_back("VK_LAYER_KHRONOS_validation");
      exts.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
    }
    VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
    app.pApplicationName = "fabtwin-viewer";
    app.apiVersion = VK_API_VERSION_1_1;
    VkDebugUtilsMessengerCreateInfoEXT mi{VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
    mi.messageSeverity =
        VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
    mi.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                     VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                     VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
    mi.pfnUserCallback = on_message;
    mi.pUserData = &messages;
    VkInstanceCreateInfo ci{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
    ci.pApplicationInfo = &app;
    ci.enabledExtensionCount = static_cast<std::uint32_t>(exts.size());
    ci.ppEnabledExtensionNames = exts.data();
    ci.enabledLayerCount = static_cast<std::uint32_t>(layers.size());
    ci.ppEnabledLayerNames = layers.data();
    if (opt.validation) ci.pNext = &mi;  // also what instance creation itself reports
    VkResult ir = vkCreateInstance(&ci, nullptr, &instance);
    if (ir == VK_ERROR_INCOMPATIBLE_DRIVER)
      return plain(
          "no Vulkan device found: no driver for Vulkan 1.1 (on a machine without a GPU install "
          "mesa-vulkan-drivers for lavapipe)");
    if (ir != VK_SUCCESS) return vk_error("vkCreateInstance", ir);
    if (opt.validation) {
      auto create = reinterpret_cast<PFN_vkCreateDebugUtilsMessengerEXT>(
          vkGetInstanceProcAddr(instance, "vkCreateDebugUtilsMessengerEXT"));
      if (!create) return plain("vkCreateDebugUtilsMessengerEXT not found");
      FT_VK(create(instance, &mi, nullptr, &messenger), "vkCreateDebugUtilsMessengerEXT");
      validation = true;
    }
    return true;
  }

  model::Result<bool> pick_device() {
    std::uint32_t n = 0;
    VkResult r = vkEnumeratePhysicalDevices(instance, &n, nullptr);
    if (r != VK_SUCCESS || n == 0)
      return plain(
          "no Vulkan device found (on a machine without a GPU install mesa-vulkan-drivers for lavapipe)");
    std::vector<VkPhysicalDevice> devs(n);
    vkEnumeratePhysicalDevices(instance, &n, devs.data());
    int best_score = -1;
    std::string names;
    for (auto d : devs) {
      VkPhysicalDeviceProperties p;
      vkGetPhysicalDeviceProperties(d, &p);
      names += (names.empty() ? "" : ", ") + std::string(p.deviceName);
      if (p.apiVersion < VK_API_VERSION_1_1) continue;
      if (!opt.device.empty() && std::string(p.deviceName).find(opt.device) == std::string::npos) continue;
      std::uint32_t nq = 0;
      vkGetPhysicalDeviceQueueFamilyProperties(d, &nq, nullptr);
      std::vector<VkQueueFamilyProperties> qs(nq);
      vkGetPhysicalDeviceQueueFamilyProperties(d, &nq, qs.data());
      std::optional<std::uint32_t> fam;
      for (std::uint32_t i = 0; i < nq && !fam; ++i) {
        if (!(qs[i].queueFlags & VK_QUEUE_GRAPHICS_BIT)) continue;
        if (surface) {
          VkBool32 ok = VK_FALSE;
          vkGetPhysicalDeviceSurfaceSupportKHR(d, i, surface, &ok);
          if (!ok) continue;
        }
        fam = i;
      }
      if (!fam) continue;
      if (surface) {
        std::uint32_t ne = 0;
        vkEnumerateDeviceExtensionProperties(d, nullptr, &ne, nullptr);
        std::vector<VkExtensionProperties> ex(ne);
        vkEnumerateDeviceExtensionProperties(d, nullptr, &ne, ex.data());
        if (!std::any_of(ex.begin(), ex.end(), [](const auto& e) {
              return std::strcmp(e.extensionName, VK_KHR_SWAPCHAIN_EXTENSION_NAME) == 0;
            }))
          continue;
      }
      int score = p.deviceType == VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU     ? 4
                  : p.deviceType == VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU ? 3
                  : p.deviceType == VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU    ? 2
                                                                           : 1;
      if (score > best_score) {
        best_score = score;
        phys = d;
        family = *fam;
        device_name = p.deviceName;
      }
    }
    if (!phys) {
      if (!opt.device.empty())
        return plain("no usable device matches --device '" + opt.device + "' (found: " + names + ")");
      return plain(std::string("no device with a graphics queue") +
                   (surface ? " that presents to the window" : "") + " (found: " + names + ")");
    }
    vkGetPhysicalDeviceMemoryProperties(phys, &mem_props);
    float prio = 1.f;
    VkDeviceQueueCreateInfo qi{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
    qi.queueFamilyIndex = family;
    qi.queueCount = 1;
    qi.pQueuePriorities = &prio;
    const char* sc_ext = VK_KHR_SWAPCHAIN_EXTENSION_NAME;
    VkDeviceCreateInfo di{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
    di.queueCreateInfoCount = 1;
    di.pQueueCreateInfos = &qi;
    if (surface) {
      di.enabledExtensionCount = 1;
      di.ppEnabledExtensionNames = &sc_ext;
    }
    FT_VK(vkCreateDevice(phys, &di, nullptr, &device), "vkCreateDevice");
    vkGetDeviceQueue(device, family, 0, &queue);
    // Depth format.
    for (VkFormat f : {VK_FORMAT_D32_SFLOAT, VK_FORMAT_D24_UNORM_S8_UINT, VK_FORMAT_D16_UNORM}) {
      VkFormatProperties fp;
      vkGetPhysicalDeviceFormatProperties(phys, f, &fp);
      if (fp.optimalTilingFeatures & VK_FORMAT_FEATURE_DEPTH_STENCIL_ATTACHMENT_BIT) {
        depth_format = f;
        break;
      }
    }
    if (depth_format == VK_FORMAT_UNDEFINED) return plain("the device supports no depth attachment format");
    return true;
  }

  model::Result<bool> create_pass(VkImageLayout final_layout) {
    VkAttachmentDescription att[2]{};
    att[0].format = colour_format;
    att[0].samples = VK_SAMPLE_COUNT_1_BIT;
    att[0].loadOp = VK_ATTACHMENT_LOAD_OP_CLEAR;
    att[0].storeOp = VK_ATTACHMENT_STORE_OP_STORE;
    att[0].stencilLoadOp = VK_ATTACHMENT_LOAD_OP_DONT_CARE;
    att[0].stencilStoreOp = VK_ATTACHMENT_STORE_OP_DONT_CARE;
    att[0].initialLayout = VK_IMAGE_LAYOUT_UNDEFINED;
    att[0].finalLayout = final_layout;
    att[1] = att[0];
    att[1].format = depth_format;
    att[1].storeOp = VK_ATTACHMENT_STORE_OP_DONT_CARE;
    att[1].finalLayout = VK_IMAGE_LAYOUT_DEPTH_STENCIL_ATTACHMENT_OPTIMAL;
    VkAttachmentReference cref{0, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL};
    VkAttachmentReference dref{1, VK_IMAGE_LAYOUT_DEPTH_STENCIL_ATTACHMENT_OPTIMAL};
    VkSubpassDescription sub{};
    sub.pipelineBindPoint = VK_PIPELINE_BIND_POINT_GRAPHICS;
    sub.colorAttachmentCount = 1;
    sub.pColorAttachments = &cref;
    sub.pDepthStencilAttachment = &dref;
    VkSubpassDependency dep[2]{};
    dep[0].srcSubpass = VK_SUBPASS_EXTERNAL;
    dep[0].dstSubpass = 0;
    dep[0].srcStageMask = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT |
                          VK_PIPELINE_STAGE_LATE_FRAGMENT_TESTS_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
    dep[0].dstStageMask =
        VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT | VK_PIPELINE_STAGE_EARLY_FRAGMENT_TESTS_BIT;
    dep[0].srcAccessMask = VK_ACCESS_DEPTH_STENCIL_ATTACHMENT_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT;
    dep[0].dstAccessMask =
        VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT | VK_ACCESS_DEPTH_STENCIL_ATTACHMENT_WRITE_BIT;
    dep[1].srcSubpass = 0;
    dep[1].dstSubpass = VK_SUBPASS_EXTERNAL;
    dep[1].srcStageMask = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT;
    dep[1].dstStageMask = VK_PIPELINE_STAGE_TRANSFER_BIT;
    dep[1].srcAccessMask = VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT;
    dep[1].dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT;
    VkRenderPassCreateInfo rp{VK_STRUCTURE_TYPE_RENDER_PASS_CREATE_INFO};
    rp.attachmentCount = 2;
    rp.pAttachments = att;
    rp.subpassCount = 1;
    rp.pSubpasses = &sub;
    rp.dependencyCount = 2;
    rp.pDependencies = dep;
    FT_VK(vkCreateRenderPass(device, &rp, nullptr, &pass), "vkCreateRenderPass");
    return true;
  }

  model::Result<bool> create_pipeline() {
    auto module = [&](const std::uint32_t* code, std::size_t bytes,
                      VkShaderModule& out) -> model::Result<bool> {
      VkShaderModuleCreateInfo si{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
      si.codeSize = bytes;
      si.pCode = code;
      FT_VK(vkCreateShaderModule(device, &si, nullptr, &out), "vkCreateShaderModule");
      return true;
    };
    VkShaderModule vs = VK_NULL_HANDLE, fs = VK_NULL_HANDLE;
    if (auto r = module(kVertSpv, sizeof(kVertSpv), vs); !r) return r;
    if (auto r = module(kFragSpv, sizeof(kFragSpv), fs); !r) return r;
    VkPushConstantRange push{VK_SHADER_STAGE_VERTEX_BIT, 0, 96};
    VkPipelineLayoutCreateInfo li{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
    li.pushConstantRangeCount = 1;
    li.pPushConstantRanges = &push;
    FT_VK(vkCreatePipelineLayout(device, &li, nullptr, &layout), "vkCreatePipelineLayout");
    VkPipelineShaderStageCreateInfo stages[2]{};
    stages[0].sType = stages[1].sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
    stages[0].stage = VK_SHADER_STAGE_VERTEX_BIT;
    stages[0].module = vs;
    stages[0].pName = "main";
    stages[1].stage = VK_SHADER_STAGE_FRAGMENT_BIT;
    stages[1].module = fs;
    stages[1].pName = "main";
    VkVertexInputBindingDescription binds[2] = {{0, sizeof(Vertex), VK_VERTEX_INPUT_RATE_VERTEX},
                                                {1, sizeof(Instance), VK_VERTEX_INPUT_RATE_INSTANCE}};
    VkVertexInputAttributeDescription attrs[5] = {
        {0, 0, VK_FORMAT_R32G32B32_SFLOAT, 0},     {1, 0, VK_FORMAT_R32G32B32_SFLOAT, 12},
        {2, 1, VK_FORMAT_R32G32B32A32_SFLOAT, 0},  {3, 1, VK_FORMAT_R32G32B32A32_SFLOAT, 16},
        {4, 1, VK_FORMAT_R32G32B32A32_SFLOAT, 32},
    };
    VkPipelineVertexInputStateCreateInfo vi{VK_STRUCTURE_TYPE_PIPELINE_VERTEX_INPUT_STATE_CREATE_INFO};
    vi.vertexBindingDescriptionCount = 2;
    vi.pVertexBindingDescriptions = binds;
    vi.vertexAttributeDescriptionCount = 5;
    vi.pVertexAttributeDescriptions = attrs;
    VkPipelineInputAssemblyStateCreateInfo ia{VK_STRUCTURE_TYPE_PIPELINE_INPUT_ASSEMBLY_STATE_CREATE_INFO};
    ia.topology = VK_PRIMITIVE_TOPOLOGY_TRIANGLE_LIST;
    VkPipelineViewportStateCreateInfo vp{VK_STRUCTURE_TYPE_PIPELINE_VIEWPORT_STATE_CREATE_INFO};
    vp.viewportCount = 1;
    vp.scissorCount = 1;
    VkPipelineRasterizationStateCreateInfo rs{VK_STRUCTURE_TYPE_PIPELINE_RASTERIZATION_STATE_CREATE_INFO};
    rs.polygonMode = VK_POLYGON_MODE_FILL;
    rs.cullMode = VK_CULL_MODE_NONE;
    rs.frontFace = VK_FRONT_FACE_COUNTER_CLOCKWISE;
    rs.lineWidth = 1.f;
    VkPipelineMultisampleStateCreateInfo ms{VK_STRUCTURE_TYPE_PIPELINE_MULTISAMPLE_STATE_CREATE_INFO};
    ms.rasterizationSamples = VK_SAMPLE_COUNT_1_BIT;
    VkPipelineDepthStencilStateCreateInfo ds{VK_STRUCTURE_TYPE_PIPELINE_DEPTH_STENCIL_STATE_CREATE_INFO};
    ds.depthTestEnable = VK_TRUE;
    ds.depthWriteEnable = VK_TRUE;
    ds.depthCompareOp = VK_COMPARE_OP_LESS_OR_EQUAL;
    VkPipelineColorBlendAttachmentState cb{};
    cb.colorWriteMask = VK_COLOR_COMPONENT_R_BIT | VK_COLOR_COMPONENT_G_BIT | VK_COLOR_COMPONENT_B_BIT |
                        VK_COLOR_COMPONENT_A_BIT;
    VkPipelineColorBlendStateCreateInfo cbs{VK_STRUCTURE_TYPE_PIPELINE_COLOR_BLEND_STATE_CREATE_INFO};
    cbs.attachmentCount = 1;
    cbs.pAttachments = &cb;
    VkDynamicState dyn[2] = {VK_DYNAMIC_STATE_VIEWPORT, VK_DYNAMIC_STATE_SCISSOR};
    VkPipelineDynamicStateCreateInfo dsi{VK_STRUCTURE_TYPE_PIPELINE_DYNAMIC_STATE_CREATE_INFO};
    dsi.dynamicStateCount = 2;
    dsi.pDynamicStates = dyn;
    VkGraphicsPipelineCreateInfo pi{VK_STRUCTURE_TYPE_GRAPHICS_PIPELINE_CREATE_INFO};
    pi.stageCount = 2;
    pi.pStages = stages;
    pi.pVertexInputState = &vi;
    pi.pInputAssemblyState = &ia;
    pi.pViewportState = &vp;
    pi.pRasterizationState = &rs;
    pi.pMultisampleState = &ms;
    pi.pDepthStencilState = &ds;
    pi.pColorBlendState = &cbs;
    pi.pDynamicState = &dsi;
    pi.layout = layout;
    pi.renderPass = pass;
    VkResult r = vkCreateGraphicsPipelines(device, VK_NULL_HANDLE, 1, &pi, nullptr, &pipeline);
    vkDestroyShaderModule(device, vs, nullptr);
    vkDestroyShaderModule(device, fs, nullptr);
    if (r != VK_SUCCESS) return vk_error("vkCreateGraphicsPipelines", r);
    return true;
  }

  model::Result<bool> create_commands() {
    VkCommandPoolCreateInfo pi{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
    pi.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
    pi.queueFamilyIndex = family;
    FT_VK(vkCreateCommandPool(device, &pi, nullptr, &pool), "vkCreateCommandPool");
    VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
    ai.commandPool = pool;
    ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    ai.commandBufferCount = 1;
    FT_VK(vkAllocateCommandBuffers(device, &ai, &cmd), "vkAllocateCommandBuffers");
    VkFenceCreateInfo fi{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    fi.flags = VK_FENCE_CREATE_SIGNALED_BIT;
    FT_VK(vkCreateFence(device, &fi, nullptr, &fence), "vkCreateFence");
    return true;
  }

  model::Result<bool> create_offscreen() {
    VkFormatProperties fp;
    vkGetPhysicalDeviceFormatProperties(phys, colour_format, &fp);
    VkFormatFeatureFlags need = VK_FORMAT_FEATURE_COLOR_ATTACHMENT_BIT | VK_FORMAT_FEATURE_TRANSFER_SRC_BIT;
    if ((fp.optimalTilingFeatures & need) != need)
      return plain("the device cannot render to and copy from VK_FORMAT_R8G8B8A8_UNORM");
    if (auto r = make_image(colour, colour_format,
                            VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | VK_IMAGE_USAGE_TRANSFER_SRC_BIT,
                            VK_IMAGE_ASPECT_COLOR_BIT);
        !r)
      return r;
    if (auto r = make_image(depth, depth_format, VK_IMAGE_USAGE_DEPTH_STENCIL_ATTACHMENT_BIT,
                            VK_IMAGE_ASPECT_DEPTH_BIT);
        !r)
      return r;
    VkImageView views[2] = {colour.view, depth.view};
    VkFramebufferCreateInfo fi{VK_STRUCTURE_TYPE_FRAMEBUFFER_CREATE_INFO};
    fi.renderPass = pass;
    fi.attachmentCount = 2;
    fi.pAttachments = views;
    fi.width = static_cast<std::uint32_t>(width);
    fi.height = static_cast<std::uint32_t>(height);
    fi.layers = 1;
    FT_VK(vkCreateFramebuffer(device, &fi, nullptr, &framebuffer), "vkCreateFramebuffer");
    return make_buffer(readback, static_cast<VkDeviceSize>(width) * static_cast<VkDeviceSize>(height) * 4,
                       VK_BUFFER_USAGE_TRANSFER_DST_BIT);
  }

  void destroy_swapchain() {
    for (auto f : sc_framebuffers) vkDestroyFramebuffer(device, f, nullptr);
    for (auto v : sc_views) vkDestroyImageView(device, v, nullptr);
    for (auto s : sc_done) vkDestroySemaphore(device, s, nullptr);
    sc_framebuffers.clear();
    sc_views.clear();
    sc_done.clear();
    sc_images.clear();
    free_image(depth);
    free_buffer(readback);
    if (swapchain) vkDestroySwapchainKHR(device, swapchain, nullptr);
    swapchain = VK_NULL_HANDLE;
  }

  // Chooses the surface format (before the render pass exists).
  model::Result<bool> choose_surface_format() {
    std::uint32_t n = 0;
    vkGetPhysicalDeviceSurfaceFormatsKHR(phys, surface, &n, nullptr);
    std::vector<VkSurfaceFormatKHR> fs(n);
    vkGetPhysicalDeviceSurfaceFormatsKHR(phys, surface, &n, fs.data());
    if (fs.empty()) return plain("the window surface offers no formats");
    colour_format = VK_FORMAT_UNDEFINED;
    for (auto f : fs)
      if (f.format == VK_FORMAT_B8G8R8A8_UNORM || f.format == VK_FORMAT_R8G8B8A8_UNORM) {
        colour_format = f.format;
        break;
      }
    if (colour_format == VK_FORMAT_UNDEFINED) colour_format = fs[0].format;
    pixels_bgra = colour_format == VK_FORMAT_B8G8R8A8_UNORM || colour_format == VK_FORMAT_B8G8R8A8_SRGB;
    return true;
  }

  model::Result<bool> create_swapchain() {
    VkSurfaceCapabilitiesKHR caps;
    FT_VK(vkGetPhysicalDeviceSurfaceCapabilitiesKHR(phys, surface, &caps),
          "vkGetPhysicalDeviceSurfaceCapabilitiesKHR");
    int fw = 0, fh = 0;
    glfwGetFramebufferSize(opt.window, &fw, &fh);
    VkExtent2D ext = caps.currentExtent;
    if (ext.width == 0xFFFFFFFFu) {
      ext.width =
          std::clamp(static_cast<std::uint32_t>(fw), caps.minImageExtent.width, caps.maxImageExtent.width);
      ext.height =
          std::clamp(static_cast<std::uint32_t>(fh), caps.minImageExtent.height, caps.maxImageExtent.height);
    }
    if (ext.width == 0 || ext.height == 0) return false;  // minimised
    width = static_cast<int>(ext.width);
    height = static_cast<int>(ext.height);
    std::uint32_t count = std::max(caps.minImageCount + 1, 2u);
    if (caps.maxImageCount) count = std::min(count, caps.maxImageCount);
    sc_transfer_src = caps.supportedUsageFlags & VK_IMAGE_USAGE_TRANSFER_SRC_BIT;
    std::uint32_t npm = 0;
    vkGetPhysicalDeviceSurfacePresentModesKHR(phys, surface, &npm, nullptr);
    std::vector<VkPresentModeKHR> pms(npm);
    vkGetPhysicalDeviceSurfacePresentModesKHR(phys, surface, &npm, pms.data());
    VkPresentModeKHR mode = VK_PRESENT_MODE_FIFO_KHR;
    if (!opt.vsync)
      for (auto m : pms)
        if (m == VK_PRESENT_MODE_IMMEDIATE_KHR || m == VK_PRESENT_MODE_MAILBOX_KHR) mode = m;
    VkSwapchainCreateInfoKHR si{VK_STRUCTURE_TYPE_SWAPCHAIN_CREATE_INFO_KHR};
    si.surface = surface;
    si.minImageCount = count;
    si.imageFormat = colour_format;
    si.imageColorSpace = VK_COLOR_SPACE_SRGB_NONLINEAR_KHR;
    si.imageExtent = ext;
    si.imageArrayLayers = 1;
    si.imageUsage =
        VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | (sc_transfer_src ? VK_IMAGE_USAGE_TRANSFER_SRC_BIT : 0);
    si.imageSharingMode = VK_SHARING_MODE_EXCLUSIVE;
    si.preTransform = caps.currentTransform;
    si.compositeAlpha = (caps.supportedCompositeAlpha & VK_COMPOSITE_ALPHA_OPAQUE_BIT_KHR)
                            ? VK_COMPOSITE_ALPHA_OPAQUE_BIT_KHR
                            : static_cast<VkCompositeAlphaFlagBitsKHR>(caps.supportedCompositeAlpha &
                                                                       -caps.supportedCompositeAlpha);
    si.presentMode = mode;
    si.clipped = VK_TRUE;
    FT_VK(vkCreateSwapchainKHR(device, &si, nullptr, &swapchain), "vkCreateSwapchainKHR");
    std::uint32_t n = 0;
    vkGetSwapchainImagesKHR(device, swapchain, &n, nullptr);
    sc_images.resize(n);
    vkGetSwapchainImagesKHR(device, swapchain, &n, sc_images.data());
    if (auto r = make_image(depth, depth_format, VK_IMAGE_USAGE_DEPTH_STENCIL_ATTACHMENT_BIT,
                            VK_IMAGE_ASPECT_DEPTH_BIT);
        !r)
      return r;
    for (auto img : sc_images) {
      VkImageViewCreateInfo vi{VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO};
      vi.image = img;
      vi.viewType = VK_IMAGE_VIEW_TYPE_2D;
      vi.format = colour_format;
      vi.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
      VkImageView v;
      FT_VK(vkCreateImageView(device, &vi, nullptr, &v), "vkCreateImageView");
      sc_views.push_back(v);
      VkImageView views[2] = {v, depth.view};
      VkFramebufferCreateInfo fi{VK_STRUCTURE_TYPE_FRAMEBUFFER_CREATE_INFO};
      fi.renderPass = pass;
      fi.attachmentCount = 2;
      fi.pAttachments = views;
      fi.width = ext.width;
      fi.height = ext.height;
      fi.layers = 1;
      VkFramebuffer f;
      FT_VK(vkCreateFramebuffer(device, &fi, nullptr, &f), "vkCreateFramebuffer");
      sc_framebuffers.push_back(f);
      VkSemaphoreCreateInfo s{VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
      VkSemaphore sem;
      FT_VK(vkCreateSemaphore(device, &s, nullptr, &sem), "vkCreateSemaphore");
      sc_done.push_back(sem);
    }
    if (auto r =
            make_buffer(readback, static_cast<VkDeviceSize>(width) * static_cast<VkDeviceSize>(height) * 4,
                        VK_BUFFER_USAGE_TRANSFER_DST_BIT);
        !r)
      return r;
    return true;
  }

  model::Result<bool> upload_meshes(Scene& scene) {
    for (int k = 0; k < kMeshKindCount; ++k) {
      const auto& md = scene.meshes()[k];
      GpuMesh gm;
      if (auto r = make_buffer(gm.vertices, md.vertices.size() * sizeof(Vertex),
                               VK_BUFFER_USAGE_VERTEX_BUFFER_BIT);
          !r)
        return r;
      std::memcpy(gm.vertices.mapped, md.vertices.data(), md.vertices.size() * sizeof(Vertex));
      if (auto r = make_buffer(gm.indices, md.indices.size() * 4, VK_BUFFER_USAGE_INDEX_BUFFER_BIT); !r)
        return r;
      std::memcpy(gm.indices.mapped, md.indices.data(), md.indices.size() * 4);
      gm.index_count = static_cast<std::uint32_t>(md.indices.size());
      gm.tool = k < static_cast<int>(MeshKind::Foup);
      for (int i = 0; i < 3; ++i) gm.lod_scale[i] = md.max[i] - md.min[i];
      gm.lod_scale[1] = md.top_at_centre - md.min[1];  // the box's top is the face over the centre
      gm.lod_offset[0] = (md.min[0] + md.max[0]) / 2;
      gm.lod_offset[1] = md.min[1];
      gm.lod_offset[2] = (md.min[2] + md.max[2]) / 2;
      const auto& set = scene.instances(static_cast<MeshKind>(k));
      gm.instance_count = static_cast<std::uint32_t>(set.items.size());
      if (auto r = make_buffer(gm.instances, set.items.size() * sizeof(Instance),
                               VK_BUFFER_USAGE_VERTEX_BUFFER_BIT);
          !r)
        return r;
      meshes.push_back(gm);
    }
    return true;
  }

  FrameStats record_scene(VkCommandBuffer c, VkFramebuffer fb, const Camera& camera) {
    FrameStats st;
    VkClearValue clear[2]{};
    clear[0].color = {{kBackground[0] / 255.f, kBackground[1] / 255.f, kBackground[2] / 255.f, 1.f}};
    clear[1].depthStencil = {1.f, 0};
    VkRenderPassBeginInfo rb{VK_STRUCTURE_TYPE_RENDER_PASS_BEGIN_INFO};
    rb.renderPass = pass;
    rb.framebuffer = fb;
    rb.renderArea = {{0, 0}, {static_cast<std::uint32_t>(width), static_cast<std::uint32_t>(height)}};
    rb.clearValueCount = 2;
    rb.pClearValues = clear;
    vkCmdBeginRenderPass(c, &rb, VK_SUBPASS_CONTENTS_INLINE);
    vkCmdBindPipeline(c, VK_PIPELINE_BIND_POINT_GRAPHICS, pipeline);
    VkViewport vp{0, 0, static_cast<float>(width), static_cast<float>(height), 0, 1};
    VkRect2D sc{{0, 0}, {static_cast<std::uint32_t>(width), static_cast<std::uint32_t>(height)}};
    vkCmdSetViewport(c, 0, 1, &vp);
    vkCmdSetScissor(c, 0, 1, &sc);
    Camera cam = camera;
    cam.width = width;
    cam.height = height;
    auto vpm = cam.view_projection();
    vkCmdPushConstants(c, layout, VK_SHADER_STAGE_VERTEX_BIT, 0, 64, vpm.data());
    // Level of detail: where a 2 m tool at the target's distance is under lod_pixels tall on
    // screen, each equipment mesh is drawn as its bounding box (12 triangles instead of up to 90).
    float px_per_m =
        static_cast<float>(height) / (2.f * cam.distance * std::tan(cam.fov_y_deg * 3.14159265f / 360.f));
    st.far = opt.lod_pixels > 0 && 2.f * px_per_m < opt.lod_pixels;
    const GpuMesh& box = meshes[static_cast<int>(MeshKind::Box)];
    for (const auto& m : meshes) {
      if (m.instance_count == 0) continue;
      bool as_box = st.far && m.tool;
      const GpuMesh& geo = as_box ? box : m;
      float lod[8] = {1, 1, 1, 0, 0, 0, 0, 0};
      if (as_box) {
        std::copy(m.lod_scale, m.lod_scale + 4, lod);
        std::copy(m.lod_offset, m.lod_offset + 4, lod + 4);
      }
      vkCmdPushConstants(c, layout, VK_SHADER_STAGE_VERTEX_BIT, 64, 32, lod);
      VkBuffer bufs[2] = {geo.vertices.buffer, m.instances.buffer};
      VkDeviceSize offs[2] = {0, 0};
      vkCmdBindVertexBuffers(c, 0, 2, bufs, offs);
      vkCmdBindIndexBuffer(c, geo.indices.buffer, 0, VK_INDEX_TYPE_UINT32);
      vkCmdDrawIndexed(c, geo.index_count, m.instance_count, 0, 0, 0);
      ++st.draws;
      st.instances_drawn += m.instance_count;
    }
    return st;
  }

  void record_copy(VkCommandBuffer c, VkImage img, VkImageLayout layout_now) {
    VkImageMemoryBarrier b{VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER};
    b.srcAccessMask = VK_ACCESS_COLOR_ATTACHMENT_WRITE_BIT;
    b.dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT;
    b.oldLayout = layout_now;
    b.newLayout = VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL;
    b.srcQueueFamilyIndex = b.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
    b.image = img;
    b.subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
    if (layout_now != VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL)
      vkCmdPipelineBarrier(c, VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT,
                           0, 0, nullptr, 0, nullptr, 1, &b);
    VkBufferImageCopy region{};
    region.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1};
    region.imageExtent = {static_cast<std::uint32_t>(width), static_cast<std::uint32_t>(height), 1};
    vkCmdCopyImageToBuffer(c, img, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, readback.buffer, 1, &region);
    VkBufferMemoryBarrier bb{VK_STRUCTURE_TYPE_BUFFER_MEMORY_BARRIER};
    bb.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
    bb.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
    bb.srcQueueFamilyIndex = bb.dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED;
    bb.buffer = readback.buffer;
    bb.size = VK_WHOLE_SIZE;
    vkCmdPipelineBarrier(c, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 0, nullptr, 1, &bb,
                         0, nullptr);
    if (layout_now == VK_IMAGE_LAYOUT_PRESENT_SRC_KHR) {
      b.srcAccessMask = VK_ACCESS_TRANSFER_READ_BIT;
      b.dstAccessMask = 0;
      b.oldLayout = VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL;
      b.newLayout = VK_IMAGE_LAYOUT_PRESENT_SRC_KHR;
      vkCmdPipelineBarrier(c, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, 0, 0,
                           nullptr, 0, nullptr, 1, &b);
    }
  }

  void destroy() {
    if (device) vkDeviceWaitIdle(device);
    if (device) {
      for (auto& m : meshes) {
        free_buffer(m.vertices);
        free_buffer(m.indices);
        free_buffer(m.instances);
      }
      meshes.clear();
      destroy_swapchain();
      if (framebuffer) vkDestroyFramebuffer(device, framebuffer, nullptr);
      free_image(colour);
      if (acquired) vkDestroySemaphore(device, acquired, nullptr);
      if (fence) vkDestroyFence(device, fence, nullptr);
      if (pool) vkDestroyCommandPool(device, pool, nullptr);
      if (pipeline) vkDestroyPipeline(device, pipeline, nullptr);
      if (layout) vkDestroyPipelineLayout(device, layout, nullptr);
      if (pass) vkDestroyRenderPass(device, pass, nullptr);
      vkDestroyDevice(device, nullptr);
      device = VK_NULL_HANDLE;
    }
    if (instance) {
      if (surface) vkDestroySurfaceKHR(instance, surface, nullptr);
      if (messenger) {
        auto destroy_fn = reinterpret_cast<PFN_vkDestroyDebugUtilsMessengerEXT>(
            vkGetInstanceProcAddr(instance, "vkDestroyDebugUtilsMessengerEXT"));
        if (destroy_fn) destroy_fn(instance, messenger, nullptr);
      }
      vkDestroyInstance(instance, nullptr);
      instance = VK_NULL_HANDLE;
    }
  }
};

Renderer::Renderer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Renderer::~Renderer() = default;

model::Result<std::unique_ptr<Renderer>> Renderer::create(const RenderOptions& options, Scene& scene) {
  auto im = std::make_unique<Impl>();
  im->opt = options;
  im->width = options.width;
  im->height = options.height;
  if (!options.window &&
      (options.width < 16 || options.height < 16 || options.width > 16384 || options.height > 16384))
    return plain("image size must be 16 to 16384 pixels each way");
  if (auto r = im->create_instance(); !r) return r.error();
  if (options.window) {
    FT_VK(glfwCreateWindowSurface(im->instance, options.window, nullptr, &im->surface),
          "glfwCreateWindowSurface");
  }
  if (auto r = im->pick_device(); !r) return r.error();
  if (im->surface) {
    if (auto r = im->choose_surface_format(); !r) return r.error();
  }
  if (auto r = im->create_pass(im->surface ? VK_IMAGE_LAYOUT_PRESENT_SRC_KHR
                                           : VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL);
      !r)
    return r.error();
  if (auto r = im->create_pipeline(); !r) return r.error();
  if (auto r = im->create_commands(); !r) return r.error();
  if (im->surface) {
    VkSemaphoreCreateInfo s{VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
    FT_VK(vkCreateSemaphore(im->device, &s, nullptr, &im->acquired), "vkCreateSemaphore");
    if (auto r = im->create_swapchain(); !r) return r.error();
  } else {
    if (auto r = im->create_offscreen(); !r) return r.error();
  }
  if (auto r = im->upload_meshes(scene); !r) return r.error();
  std::unique_ptr<Renderer> out(new Renderer(std::move(im)));
  for (int k = 0; k < kMeshKindCount; ++k) scene.instances(static_cast<MeshKind>(k)).mark_all();
  return out;
}

FrameStats Renderer::upload(Scene& scene) {
  FrameStats st;
  for (int k = 0; k < kMeshKindCount; ++k) {
    auto& set = scene.instances(static_cast<MeshKind>(k));
    auto& gm = impl_->meshes[k];
    gm.instance_count = static_cast<std::uint32_t>(set.visible.size());  // the packed, shown slots
    for (auto [first, count] : set.take_dirty_ranges()) {
      std::memcpy(static_cast<char*>(gm.instances.mapped) + first * sizeof(Instance), &set.visible[first],
                  count * sizeof(Instance));
      st.bytes_uploaded += count * sizeof(Instance);
      ++st.ranges_uploaded;
    }
  }
  return st;
}

model::Result<FrameStats> Renderer::render(Scene& scene, const Camera& camera, bool capture) {
  auto& im = *impl_;
  if (im.surface) return plain("render() is the headless path; a windowed renderer presents");
  FT_VK(vkWaitForFences(im.device, 1, &im.fence, VK_TRUE, UINT64_MAX), "vkWaitForFences");
  FrameStats up = upload(scene);
  FT_VK(vkResetFences(im.device, 1, &im.fence), "vkResetFences");
  FT_VK(vkResetCommandBuffer(im.cmd, 0), "vkResetCommandBuffer");
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  FT_VK(vkBeginCommandBuffer(im.cmd, &bi), "vkBeginCommandBuffer");
  FrameStats st = im.record_scene(im.cmd, im.framebuffer, camera);
  vkCmdEndRenderPass(im.cmd);
  if (capture) im.record_copy(im.cmd, im.colour.image, VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL);
  FT_VK(vkEndCommandBuffer(im.cmd), "vkEndCommandBuffer");
  VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  si.commandBufferCount = 1;
  si.pCommandBuffers = &im.cmd;
  FT_VK(vkQueueSubmit(im.queue, 1, &si, im.fence), "vkQueueSubmit");
  FT_VK(vkWaitForFences(im.device, 1, &im.fence, VK_TRUE, UINT64_MAX), "vkWaitForFences");
  im.have_pixels = im.have_pixels || capture;
  st.bytes_uploaded = up.bytes_uploaded;
  st.ranges_uploaded = up.ranges_uploaded;
  return st;
}

model::Result<std::vector<std::uint8_t>> Renderer::read_pixels() {
  auto& im = *impl_;
  if (!im.have_pixels) return plain("no frame has been captured");
  FT_VK(vkWaitForFences(im.device, 1, &im.fence, VK_TRUE, UINT64_MAX), "vkWaitForFences");
  std::size_t n = static_cast<std::size_t>(im.width) * static_cast<std::size_t>(im.height) * 4;
  std::vector<std::uint8_t> px(n);
  std::memcpy(px.data(), im.readback.mapped, n);
  if (im.pixels_bgra)
    for (std::size_t i = 0; i < n; i += 4) std::swap(px[i], px[i + 2]);
  for (std::size_t i = 3; i < n; i += 4) px[i] = 255;
  return px;
}

model::Result<bool> Renderer::present(Scene& scene, const Camera& camera, const Overlay& overlay,
                                      bool capture, FrameStats* stats) {
  auto& im = *impl_;
  if (!im.surface) return plain("present() needs a window");
  FT_VK(vkWaitForFences(im.device, 1, &im.fence, VK_TRUE, UINT64_MAX), "vkWaitForFences");
  int fw = 0, fh = 0;
  glfwGetFramebufferSize(im.opt.window, &fw, &fh);
  if (fw == 0 || fh == 0) return false;
  if (!im.swapchain || fw != im.width || fh != im.height) {
    vkDeviceWaitIdle(im.device);
    im.destroy_swapchain();
    auto r = im.create_swapchain();
    if (!r) return r.error();
    if (!r.value()) return false;
  }
  std::uint32_t index = 0;
  VkResult ar =
      vkAcquireNextImageKHR(im.device, im.swapchain, UINT64_MAX, im.acquired, VK_NULL_HANDLE, &index);
  if (ar == VK_ERROR_OUT_OF_DATE_KHR) {
    vkDeviceWaitIdle(im.device);
    im.destroy_swapchain();
    return false;
  }
  if (ar != VK_SUCCESS && ar != VK_SUBOPTIMAL_KHR) return vk_error("vkAcquireNextImageKHR", ar);
  FrameStats up = upload(scene);
  FT_VK(vkResetFences(im.device, 1, &im.fence), "vkResetFences");
  FT_VK(vkResetCommandBuffer(im.cmd, 0), "vkResetCommandBuffer");
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  FT_VK(vkBeginCommandBuffer(im.cmd, &bi), "vkBeginCommandBuffer");
  FrameStats st = im.record_scene(im.cmd, im.sc_framebuffers[index], camera);
  if (overlay) overlay(im.cmd);
  vkCmdEndRenderPass(im.cmd);
  bool copied = false;
  if (capture) {
    if (!im.sc_transfer_src) {
      vkEndCommandBuffer(im.cmd);
      return plain("the swapchain images cannot be copied (no TRANSFER_SRC usage): no screenshot");
    }
    im.record_copy(im.cmd, im.sc_images[index], VK_IMAGE_LAYOUT_PRESENT_SRC_KHR);
    copied = true;
  }
  FT_VK(vkEndCommandBuffer(im.cmd), "vkEndCommandBuffer");
  VkPipelineStageFlags wait_stage = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT;
  VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  si.waitSemaphoreCount = 1;
  si.pWaitSemaphores = &im.acquired;
  si.pWaitDstStageMask = &wait_stage;
  si.commandBufferCount = 1;
  si.pCommandBuffers = &im.cmd;
  si.signalSemaphoreCount = 1;
  si.pSignalSemaphores = &im.sc_done[index];
  FT_VK(vkQueueSubmit(im.queue, 1, &si, im.fence), "vkQueueSubmit");
  VkPresentInfoKHR pi{VK_STRUCTURE_TYPE_PRESENT_INFO_KHR};
  pi.waitSemaphoreCount = 1;
  pi.pWaitSemaphores = &im.sc_done[index];
  pi.swapchainCount = 1;
  pi.pSwapchains = &im.swapchain;
  pi.pImageIndices = &index;
  VkResult pr = vkQueuePresentKHR(im.queue, &pi);
  if (pr != VK_SUCCESS && pr != VK_SUBOPTIMAL_KHR && pr != VK_ERROR_OUT_OF_DATE_KHR)
    return vk_error("vkQueuePresentKHR", pr);
  if (copied) im.have_pixels = true;
  if (stats) {
    *stats = st;
    stats->bytes_uploaded = up.bytes_uploaded;
    stats->ranges_uploaded = up.ranges_uploaded;
  }
  return true;
}

model::Result<bool> Renderer::submit_now(const std::function<void(VkCommandBuffer)>& record) {
  auto& im = *impl_;
  FT_VK(vkWaitForFences(im.device, 1, &im.fence, VK_TRUE, UINT64_MAX), "vkWaitForFences");
  FT_VK(vkResetFences(im.device, 1, &im.fence), "vkResetFences");
  FT_VK(vkResetCommandBuffer(im.cmd, 0), "vkResetCommandBuffer");
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  FT_VK(vkBeginCommandBuffer(im.cmd, &bi), "vkBeginCommandBuffer");
  record(im.cmd);
  FT_VK(vkEndCommandBuffer(im.cmd), "vkEndCommandBuffer");
  VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  si.commandBufferCount = 1;
  si.pCommandBuffers = &im.cmd;
  FT_VK(vkQueueSubmit(im.queue, 1, &si, im.fence), "vkQueueSubmit");
  FT_VK(vkWaitForFences(im.device, 1, &im.fence, VK_TRUE, UINT64_MAX), "vkWaitForFences");
  return true;
}

int Renderer::width() const { return impl_->width; }
int Renderer::height() const { return impl_->height; }
std::uint32_t Renderer::validation_messages() const { return impl_->messages.load(); }
const std::string& Renderer::device_name() const { return impl_->device_name; }
bool Renderer::validation_enabled() const { return impl_->validation; }
VkInstance Renderer::instance() const { return impl_->instance; }
VkPhysicalDevice Renderer::physical_device() const { return impl_->phys; }
VkDevice Renderer::device() const { return impl_->device; }
std::uint32_t Renderer::queue_family() const { return impl_->family; }
VkQueue Renderer::queue() const { return impl_->queue; }
VkRenderPass Renderer::render_pass() const { return impl_->pass; }
std::uint32_t Renderer::image_count() const {
  return static_cast<std::uint32_t>(std::max<std::size_t>(impl_->sc_images.size(), 2));
}

}  // namespace fabtwin::viewer
