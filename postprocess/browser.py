"""Open an HTML page in headless Chromium and report broken images and script errors.

:func:`check_page` copies the page beside itself with a small script added (so relative image
paths still resolve), loads it with ``chromium --headless --dump-dom`` and reads back what the
script wrote into the DOM after the ``load`` event: how many images there are, how many did not
load (``naturalWidth == 0``), and the JavaScript errors seen.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["BrowserCheck", "check_page", "find_chromium"]

_PROBE = """<script>
(function(){var errs=[];
window.addEventListener('error',function(e){errs.push(String(e.message||e.type));},true);
window.addEventListener('load',function(){
 var imgs=Array.prototype.slice.call(document.images);
 var broken=imgs.filter(function(i){return !i.complete||i.naturalWidth===0;});
 var d=document.createElement('pre');d.id='nre-browser-check';
 d.textContent=JSON.stringify({images:imgs.length,broken:broken.map(function(i){
   return (i.getAttribute('alt')||i.src.slice(0,60));}),errors:errs});
 document.body.appendChild(d);});})();
</script>"""


@dataclass(slots=True)
class BrowserCheck:
    """What the page looked like in Chromium.

    Attributes:
        images: Number of ``<img>`` elements.
        broken: Alt text (or source start) of images that did not load.
        errors: JavaScript errors (including resource load errors) seen while loading.
    """

    images: int
    broken: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.broken and not self.errors


def find_chromium() -> str | None:
    """Path of a Chromium executable (``chromium``, ``chromium-browser``), or ``None``."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def check_page(html_path: str | os.PathLike, *, chromium: str | None = None,
               timeout_s: float = 60.0) -> BrowserCheck:
    """Load ``html_path`` in headless Chromium and return what the probe script saw.

    Raises:
        FileNotFoundError: no Chromium (see :func:`find_chromium`).
        RuntimeError: Chromium failed or the probe found no way to report (page did not load).
    """
    import json

    exe = chromium or find_chromium()
    if exe is None:
        raise FileNotFoundError("chromium not found (apt-get install chromium)")
    page = Path(html_path).resolve()
    text = page.read_text()
    probed = text.replace("</body>", _PROBE + "</body>") if "</body>" in text else text + _PROBE
    copy = page.with_name(f".{page.stem}.browser-check.html")
    copy.write_text(probed)
    try:
        with tempfile.TemporaryDirectory(prefix="nre-chromium-") as profile:
            cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu",
                   "--disable-background-networking", "--disable-component-update",
                   "--disable-sync", "--no-first-run", "--allow-file-access-from-files",
                   f"--user-data-dir={profile}", "--virtual-time-budget=10000", "--dump-dom",
                   copy.as_uri()]
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    finally:
        copy.unlink(missing_ok=True)
    match = re.search(r'<pre id="nre-browser-check">(.*?)</pre>', proc.stdout, re.S)
    if match is None:
        raise RuntimeError(f"chromium exit {proc.returncode}: no probe output; stderr: "
                           f"{proc.stderr[-2000:]}")
    import html as _html

    data = json.loads(_html.unescape(match.group(1)))
    return BrowserCheck(data["images"], data["broken"], data["errors"])
