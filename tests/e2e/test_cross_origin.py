"""The dev server as a site's CDN: a page of another origin loads pyajs from it
(`analytics._src`), on each runtime: the loader, the runtime's modules and wasm and the
package all come cross-origin, and the events reach the collector."""

from urllib.parse import quote

from tests.e2e.conftest import UUID4


def test_a_page_of_another_origin_loads_pyajs_from_the_dev_server(page):
    page.open(origin=page.server.named)  # http://www.pyajs.test:<port>
    cdn = page.server.base  # http://127.0.0.1:<port>: another origin
    loaded = []
    page.pw.on("response", lambda r: loaded.append(r) if r.url.startswith(cdn + "/") else None)
    page.load(before="analytics._src = %r; analytics.track('From Afar')" % (cdn + "/pyajs.js"))
    anonymous_id = page.js("analytics.user().anonymousId()")
    assert UUID4.match(anonymous_id)
    assert page.cookies()["ajs_anonymous_id"]["value"] == quote('"%s"' % anonymous_id)
    assert page.cookies()["ajs_anonymous_id"]["domain"].lstrip(".") == "pyajs.test"
    (event,) = page.server.wait_events(1, anonymousId=anonymous_id)
    assert event["event"] == "From Afar"
    assert event["context"]["page"]["url"].startswith(page.server.named)
    paths = {r.url[len(cdn):].split("?")[0] for r in loaded}
    assert "/pyajs.js" in paths
    assert any(p.endswith(".wasm") for p in paths), paths
    assert any(p.startswith("/pyajs/pyajs") for p in paths), paths
    assert all(r.ok for r in loaded), [(r.url, r.status) for r in loaded if not r.ok]
