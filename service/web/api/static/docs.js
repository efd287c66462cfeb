// Starts Swagger UI on /docs over the contract the page names in data-spec-url.
// A file of its own (not an inline script) so the page's Content-Security-Policy can
// forbid inline scripts altogether.
"use strict";
(function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-spec-url"),
    domNode: root,
    deepLinking: true,
    validatorUrl: null, // the default would fetch a badge from a third-party validator
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
})();
