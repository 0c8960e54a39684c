// Copy the browser libraries from node_modules into the repository with their licences: the app's into
// static/vendor (served), the test-only ones into tests/vendor (read by the browser tests, never served).
const fs = require("fs");
const path = require("path");
const root = path.join(__dirname, "..");
const copies = {
  "static/vendor": {
    leaflet: ["dist/leaflet.js", "dist/leaflet.css", "dist/images", "LICENSE"],
    "leaflet.markercluster": ["dist/leaflet.markercluster.js", "dist/MarkerCluster.css",
                              "dist/MarkerCluster.Default.css", "MIT-LICENCE.txt"],
  },
  "tests/vendor": {
    // axe-core (MPL-2.0): the accessibility rules tests/e2e/test_accessibility.py runs in the page.
    "axe-core": ["axe.min.js", "LICENSE", "LICENSE-3RD-PARTY.txt"],
  },
};
for (const [folder, packages] of Object.entries(copies)) {
  for (const [pkg, files] of Object.entries(packages)) {
    const dest = path.join(root, folder, pkg);
    fs.mkdirSync(dest, { recursive: true });
    for (const f of files) {
      const src = path.join(root, "node_modules", pkg, f);
      fs.cpSync(src, path.join(dest, path.basename(f)), { recursive: true });
    }
    const version = require(path.join(root, "node_modules", pkg, "package.json")).version;
    fs.writeFileSync(path.join(dest, "VERSION"), version + "\n");
  }
}
