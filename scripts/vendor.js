// Copy the browser libraries from node_modules into static/vendor with their licences.
const fs = require("fs");
const path = require("path");
const root = path.join(__dirname, "..");
const copies = {
  leaflet: ["dist/leaflet.js", "dist/leaflet.css", "dist/images", "LICENSE"],
  "leaflet.markercluster": ["dist/leaflet.markercluster.js", "dist/MarkerCluster.css",
                            "dist/MarkerCluster.Default.css", "MIT-LICENCE.txt"],
};
for (const [pkg, files] of Object.entries(copies)) {
  const dest = path.join(root, "static", "vendor", pkg);
  fs.mkdirSync(dest, { recursive: true });
  for (const f of files) {
    const src = path.join(root, "node_modules", pkg, f);
    fs.cpSync(src, path.join(dest, path.basename(f)), { recursive: true });
  }
  const version = require(path.join(root, "node_modules", pkg, "package.json")).version;
  fs.writeFileSync(path.join(dest, "VERSION"), version + "\n");
}
