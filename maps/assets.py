"""Offline maps: every script and stylesheet a Folium page needs is served by Wangge itself.

Government intranets (政务外网) are often cut off from the internet, where a page that
loads Leaflet from a public CDN stays blank. At install time ``wangge assets`` takes
each library from the npm registry (or from the folium package) into
``var/static/vendor/``; at render time ``localise`` rewrites every CDN address in a
page to the local copy, and refuses a page that would still reach outside.
"""

from __future__ import annotations

import posixpath
import re
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import folium

from geo.settings import get_settings

STATIC_PREFIX = "/static/vendor"
_NPM_CDN = re.compile(
    r"https://cdn\.jsdelivr\.net/npm/(?P<pkg>(?:@[^/]+/)?[^@/]+)@(?P<ver>[^/]+)/(?P<path>[^\"']+)"
)
_FOLIUM_GH = re.compile(
    r"https://cdn\.jsdelivr\.net/gh/python-visualization/folium(?:@[^/]+)?/folium/templates/(?P<path>[^\"']+)"
)
# Libraries folium names on other CDNs, and where the same files live in npm.
_OTHER = {
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/": (
        "leaflet.markercluster",
        "1.1.0",
        "dist/",
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/": (
        "drmonty-leaflet-awesome-markers",
        "2.0.2",
        "css/",
    ),
    "https://code.jquery.com/jquery-3.7.1.min.js": ("jquery", "3.7.1", "dist/jquery.min.js"),
    # jsDelivr minifies on the fly; the npm package ships only the plain file.
    "https://cdn.jsdelivr.net/npm/iso8601-js-period@0.2.1/iso8601.min.js": (
        "iso8601-js-period",
        "0.2.1",
        "iso8601.js",
    ),
}
# Folium adds these to every page for icon fonts our maps do not use; they are dropped, not fetched.
UNUSED = (
    "https://netdna.bootstrapcdn.com/bootstrap/3.0.0/css/bootstrap-glyphicons.css",
    "https://cdn.jsdelivr.net/gh/python-visualization/folium/folium/templates/leaflet.awesome.rotate.min.css",
)
_EXTERNAL = re.compile(r"(?:src|href)=[\"'](https?://[^\"']+)[\"']")
# Stylesheets that load fonts from a CDN themselves: the package whose fonts they need, and the prefix to
# rewrite (the time slider's play and pause buttons are Glyphicons).
FONT_DEPENDENCIES = {
    "leaflet-timedimension": (
        "bootstrap",
        "3.4.1",
        "//netdna.bootstrapcdn.com/bootstrap/3.0.0/fonts/",
        "dist/fonts/",
    ),
}


class AssetError(RuntimeError):
    """A page needs an asset that is not (or cannot be) served locally."""


@dataclass(frozen=True)
class Asset:
    source: str  # "npm" or "folium"
    package: str
    version: str
    path: str

    @property
    def folder(self) -> str:
        return f"{self.package}@{self.version}"

    def url(self, prefix: str = STATIC_PREFIX) -> str:
        return f"{prefix}/{self.folder}/{self.path}"


# The API's docs page (/docs) is Swagger UI, from npm like the maps' libraries, so it too opens offline.
DOCS_ASSETS = tuple(
    Asset("npm", "swagger-ui-dist", "5.17.14", path) for path in ("swagger-ui.css", "swagger-ui-bundle.js")
)


def vendor_dir() -> Path:
    return get_settings().var_dir / "static" / "vendor"


def asset_for(url: str) -> Asset | None:
    """Where a CDN address's file comes from, or None when we do not know it."""
    for prefix, (pkg, ver, base) in _OTHER.items():
        if url.startswith(prefix):
            rest = url[len(prefix) :]
            if pkg == "drmonty-leaflet-awesome-markers":
                base = "js/" if rest.endswith(".js") else "css/"
            return Asset("npm", pkg, ver, base + rest if base.endswith("/") else base)
    if m := _NPM_CDN.fullmatch(url):
        return Asset("npm", m["pkg"], m["ver"], m["path"])
    if m := _FOLIUM_GH.fullmatch(url):
        return Asset("folium", "folium", folium.__version__, m["path"])
    return None


def localise(html: str, prefix: str = STATIC_PREFIX, used: set[Asset] | None = None) -> str:
    """Point every script and stylesheet at the local copy under ``prefix``; raise if one cannot be.

    ``used``, when given, collects the assets the page refers to.
    """
    for url in UNUSED:
        html = re.sub(r"<link[^>]+" + re.escape(url) + r"[^>]*>", "", html)
    missing = []

    def swap(m: re.Match) -> str:
        asset = asset_for(m.group(1))
        if asset is None:
            missing.append(m.group(1))
            return m.group(0)
        if used is not None:
            used.add(asset)
        return m.group(0).replace(m.group(1), asset.url(prefix))

    html = _EXTERNAL.sub(swap, html)
    if missing:
        raise AssetError(f"no local copy for {', '.join(sorted(set(missing)))}")
    return html


def export_page(html: str, out: Path) -> Path:
    """Write a self-contained page: ``out`` plus ``<stem>_files/`` holding only the files it loads (each
    script and stylesheet, and the images and fonts those stylesheets load), not whole packages."""
    used: set[Asset] = set()
    files = f"{out.stem}_files"
    html = localise(html, prefix=files, used=used)
    out.parent.mkdir(parents=True, exist_ok=True)
    for rel in sorted(_files_loaded(used)):
        src = vendor_dir() / rel
        if not src.is_file():
            raise AssetError(f"{src} is missing: run `wangge assets`")
        dest = out.parent / files / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
    out.write_text(html, encoding="utf-8")
    return out


# A stylesheet's url(…) of a file beside it (not data: or another host), without its ?query or #hash.
_CSS_URL = re.compile(r"""url\(\s*['"]?(?!data:|https?:|//)([^'")?#]+)""")


def _files_loaded(used: set[Asset]) -> set[PurePosixPath]:
    """The files the page's assets load, as paths under the vendor folder: each asset, and what its
    stylesheets load in turn (Leaflet's marker images, the time slider's Glyphicons)."""
    root, found = vendor_dir(), set()
    todo = [PurePosixPath(a.folder) / a.path for a in used]
    while todo:
        rel = todo.pop()
        if rel in found:
            continue
        found.add(rel)
        if rel.suffix == ".css" and (root / rel).is_file():
            refs = [
                PurePosixPath(posixpath.normpath(str(rel.parent / ref.strip())))
                for ref in _CSS_URL.findall((root / rel).read_text(encoding="utf-8"))
            ]
            todo.extend(t for t in _modern_fonts(refs) if t.parts and t.parts[0] != "..")
    return found


# Font formats only old browsers (IE, early Android) read; every browser in use takes the WOFF beside them.
LEGACY_FONTS = (".eot", ".ttf", ".svg")


def _modern_fonts(refs: list[PurePosixPath]) -> list[PurePosixPath]:
    """A stylesheet's files without the legacy copies of a font that it also offers as WOFF (a browser
    stops at the first format it reads, so they are never fetched): the time slider's Glyphicons lose
    174 kB of their 221 kB."""
    woff = {r.with_suffix("") for r in refs if r.suffix in (".woff", ".woff2")}
    return [r for r in refs if not (r.suffix in LEGACY_FONTS and r.with_suffix("") in woff)]


def reference_page() -> str:
    """A page with every plugin our maps use, so installing its assets covers them all."""
    from folium import plugins

    fmap = folium.Map(tiles=None)
    plugins.HeatMap([[0.0, 0.0, 1.0]]).add_to(fmap)
    plugins.HeatMapWithTime([[[0.0, 0.0, 1.0]]], index=["0"]).add_to(fmap)
    plugins.MarkerCluster().add_to(fmap)
    folium.Marker([0.0, 0.0], icon=folium.Icon()).add_to(fmap)
    folium.LayerControl().add_to(fmap)
    return fmap.get_root().render()


def needed_assets() -> list[Asset]:
    html = reference_page()
    urls = sorted({u for u in _EXTERNAL.findall(html) if u not in UNUSED})
    unknown = [u for u in urls if asset_for(u) is None]
    if unknown:
        raise AssetError(f"no known source for {', '.join(unknown)}")
    return [asset_for(u) for u in urls]


def _npm_unpack(pkg: str, ver: str, dest: Path, keep: str | None = None) -> None:
    """``npm pack`` a package and unpack it (or only its ``keep`` folder) into ``dest``."""
    npm = shutil.which("npm")
    if npm is None:
        raise AssetError("npm is needed to fetch the map libraries: apt-get install -y npm")
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run(
            [npm, "pack", "--silent", f"{pkg}@{ver}"], cwd=tmp, capture_output=True, text=True
        )
        tgz = next(Path(tmp).glob("*.tgz"), None)
        if proc.returncode != 0 or tgz is None:
            raise AssetError(f"npm pack {pkg}@{ver} failed: {proc.stderr.strip()[-500:]}")
        with tarfile.open(tgz) as tar:
            tar.extractall(tmp, filter="data")
        src = Path(tmp) / "package"
        if keep:
            shutil.copytree(src / keep, dest / keep)
        else:
            shutil.copytree(src, dest)


def _local_fonts(target: Path, package_dir: Path, progress) -> None:
    """Give a stylesheet that loads fonts from a CDN a local copy, and point it there (idempotent)."""
    dep = FONT_DEPENDENCIES.get(package_dir.name.rsplit("@", 1)[0])
    if dep is None:
        return
    pkg, ver, remote, local = dep
    fonts = target / f"{pkg}@{ver}"
    if not (fonts / local).exists():
        _npm_unpack(pkg, ver, fonts, keep=local)
        progress(f"{pkg}@{ver} ({local})")
    for css in package_dir.rglob("*.css"):
        text = css.read_text(encoding="utf-8")
        if remote in text:
            depth = len(css.relative_to(target).parts) - 1
            css.write_text(text.replace(remote, "../" * depth + f"{pkg}@{ver}/{local}"), encoding="utf-8")


def install(target: Path | None = None, progress=print) -> list[Path]:
    """Fetch every needed asset into ``target`` (whole npm packages: CSS finds its fonts and images)."""
    target = target or vendor_dir()
    target.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    wanted = [*needed_assets(), *DOCS_ASSETS]
    packages = sorted({(a.source, a.package, a.version) for a in wanted})
    for source, pkg, ver in packages:
        dest = target / f"{pkg}@{ver}"
        if not dest.exists():
            if source == "folium":
                shutil.copytree(Path(folium.__file__).parent / "templates", dest)
            else:
                _npm_unpack(pkg, ver, dest)
            progress(f"{pkg}@{ver}")
            written.append(dest)
        _local_fonts(target, dest, progress)
    missing = [a for a in wanted if not (target / f"{a.package}@{a.version}" / a.path).exists()]
    if missing:
        raise AssetError(
            "installed packages lack " + ", ".join(f"{a.package}@{a.version}/{a.path}" for a in missing)
        )
    return written
