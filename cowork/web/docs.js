// /docs: the API reference (Swagger UI, vendored) for this node's OpenAPI description.

window.SwaggerUIBundle({
  url: "/docs/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null, // never ask an outside validator
  presets: [window.SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
