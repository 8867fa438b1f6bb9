#version 450
// One instanced draw per mesh: per-vertex position and normal, per-instance placement and colour.
layout(location = 0) in vec3 in_pos;
layout(location = 1) in vec3 in_normal;
layout(location = 2) in vec4 i_pos_yaw;    // xyz: position, w: yaw (radians)
layout(location = 3) in vec4 i_scale_flags; // xyz: scale (0: hidden), w: flags (1: emissive)
layout(location = 4) in vec4 i_colour;

layout(push_constant) uniform Push {
  mat4 view_projection;
  vec4 lod_scale;   // far away: the unit box scaled and moved to the mesh's bounding box
  vec4 lod_offset;  // near: (1, 1, 1) and 0
} pc;

layout(location = 0) out vec3 v_normal;
layout(location = 1) out vec4 v_colour;
layout(location = 2) flat out float v_flags;

void main() {
  float c = cos(i_pos_yaw.w), s = sin(i_pos_yaw.w);
  vec3 p = (in_pos * pc.lod_scale.xyz + pc.lod_offset.xyz) * i_scale_flags.xyz;
  p = vec3(c * p.x + s * p.z, p.y, -s * p.x + c * p.z);
  gl_Position = pc.view_projection * vec4(p + i_pos_yaw.xyz, 1.0);
  vec3 n = in_normal;
  v_normal = vec3(c * n.x + s * n.z, n.y, -s * n.x + c * n.z);
  v_colour = i_colour;
  v_flags = i_scale_flags.w;
}
