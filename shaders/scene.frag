#version 450
// Flat state colours: a face looking up shows the instance colour exactly (tests probe tool tops),
// side faces are darker by their angle to a fixed light.
layout(location = 0) in vec3 v_normal;
layout(location = 1) in vec4 v_colour;
layout(location = 2) flat in float v_flags;
layout(location = 0) out vec4 out_colour;

void main() {
  vec3 n = normalize(v_normal);
  float light = 0.55 + 0.45 * max(n.y, 0.0) + 0.2 * max(dot(n, normalize(vec3(0.5, 0.0, 0.85))), 0.0);
  if (v_flags > 0.5) light = 1.0;
  out_colour = vec4(v_colour.rgb * min(light, 1.0), 1.0);
}
