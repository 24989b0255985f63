#!/usr/bin/env bash
# Refetch the web client's third-party browser files from the npm registry, pinned, with their
# licences: cowork/web/vendor/ (served to browsers) and tests/browser/vendor/ (test-only).
# Nothing is built: each package's published file is copied as it is. Run from anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."

# package@version  destination  files to copy (from the package root)  licence file
PACKAGES=(
    "uplot@1.6.32|cowork/web/vendor/uplot|dist/uPlot.esm.js dist/uPlot.min.css|LICENSE"
    "qrcode-generator@2.0.4|cowork/web/vendor/qrcode-generator|dist/qrcode.mjs|-"
    "swagger-ui-dist@5.35.0|cowork/web/vendor/swagger-ui|swagger-ui-bundle.js swagger-ui.css swagger-ui-bundle.js.LICENSE.txt NOTICE|LICENSE"
    "axe-core@4.14.1|tests/browser/vendor/axe-core|axe.min.js|LICENSE"
)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for entry in "${PACKAGES[@]}"; do
    IFS='|' read -r spec dest files licence <<<"$entry"
    (cd "$work" && npm pack --silent "$spec" >/dev/null)
    tarball=$(ls "$work"/*.tgz)
    mkdir -p "$work/pkg" && tar xzf "$tarball" -C "$work/pkg"
    rm -rf "$dest" && mkdir -p "$dest"
    for f in $files; do cp "$work/pkg/package/$f" "$dest/"; done
    if [ "$licence" = "-" ]; then
        # qrcode-generator ships no licence file; its MIT notice heads the source.
        sed -n '1,16p' "$work/pkg/package/dist/qrcode.mjs" >"$dest/LICENSE"
    else
        cp "$work/pkg/package/$licence" "$dest/LICENSE"
    fi
    echo "$spec sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)" >"$dest/VERSION"
    rm -rf "$tarball" "$work/pkg"
    echo "vendored $spec -> $dest"
done
