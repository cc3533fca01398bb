"""The home page and the offline API docs (Swagger UI and ReDoc served by the app)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

from postback import __version__
from postback.web.headers import CSP, policy_for_page
from postback.web.throttle import throttle_lifespan

# The browser layer's lifespan (the sign-in throttle) runs inside the app's, wherever the app
# includes this router.
router = APIRouter(include_in_schema=False, lifespan=throttle_lifespan)

VENDOR = "/static/vendor"
STATIC = Path(__file__).parent / "static"
LINKS = (
    ("/dashboard", "Dashboard", "数据看板"),
    ("/ask", "Ask about conversions in Chinese or English", "用中文或英文查询转化数据"),
    ("/admin", "Admin: partners", "管理后台：合作伙伴管理"),
    ("/docs", "API documentation (Swagger UI)", "接口文档（Swagger UI）"),
    ("/redoc", "API reference (ReDoc)", "接口参考（ReDoc）"),
    ("/admin/conversions", "Admin: find a conversion", "管理后台：查找转化"),
    # JSON, read with the browser's session (signed in at /admin or /dashboard) or a token.
    (
        "/postback/conversions",
        "Conversions, JSON (signed in, or a token)",
        "转化记录 JSON（需登录或令牌）",
    ),
    (
        "/postback/stats",
        "Statistics, last 24 hours, JSON (signed in, or a token)",
        "最近24小时统计 JSON（需登录或令牌）",
    ),
    ("/health", "Health", "健康检查"),
    ("/info", "Service information", "服务信息"),
    ("/metrics", "Prometheus metrics", "Prometheus 指标"),
)

HOME = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Postback</title>
<style>
body {{ font: 16px/1.5 system-ui, "PingFang SC", "Microsoft YaHei", sans-serif;
       max-width: 46rem; margin: 2rem auto; padding: 0 1rem; color: #1f2937; }}
h1 {{ margin-bottom: .2rem; }} .sub {{ color: #6b7280; margin-top: 0; }}
li {{ margin: .35rem 0; }} .zh {{ color: #4b5563; margin-left: .5rem; }}
code {{ background: #f3f4f6; padding: .1rem .3rem; border-radius: 4px; }}
</style></head><body>
<h1>Postback <small>{version}</small></h1>
<p class="sub">Affiliate conversion postbacks, kept safely · 联盟转化回传，安全保存</p>
<p>Postback URL · 回传地址: <code>{base}/postback/?conversion_id={{conversion_id}}&amp;…</code></p>
<ul>{links}</ul>
</body></html>"""


@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> HTMLResponse:
    links = "".join(
        f'<li><a href="{href}">{en}</a><span class="zh">{zh}</span></li>' for href, en, zh in LINKS
    )
    base = str(request.base_url).rstrip("/")
    html = HOME.format(version=__version__, links=links, base=base)
    return HTMLResponse(html, headers={CSP: policy_for_page(html)})


@router.get("/favicon.ico")
async def favicon() -> FileResponse:
    return FileResponse(
        STATIC / "vendor" / "swagger-ui" / "favicon-32x32.png", media_type="image/png"
    )


@cache
def _swagger_ui() -> tuple[str, str]:
    """The page and its policy (both fixed, so made once)."""
    html = bytes(
        get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Postback API",
            swagger_js_url=f"{VENDOR}/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url=f"{VENDOR}/swagger-ui/swagger-ui.css",
            swagger_favicon_url=f"{VENDOR}/swagger-ui/favicon-32x32.png",
            swagger_ui_parameters={"validatorUrl": None},
        ).body
    ).decode()
    # Swagger UI draws its icons from data: URIs in its stylesheet.
    return html, policy_for_page(html, img_src="'self' data:")


@cache
def _redoc() -> tuple[str, str]:
    """The page and its policy (both fixed, so made once)."""
    html = bytes(
        get_redoc_html(
            openapi_url="/openapi.json",
            title="Postback API",
            redoc_js_url=f"{VENDOR}/redoc/redoc.standalone.js",
            redoc_favicon_url=f"{VENDOR}/swagger-ui/favicon-32x32.png",
            with_google_fonts=False,
        ).body
    ).decode()
    # ReDoc styles itself with <style> elements it writes at run time (styled-components)
    # and builds its search worker from a blob.
    policy = policy_for_page(
        html,
        style_src="'self' 'unsafe-inline'",
        img_src="'self' data:",
        worker_src="'self' blob:",
    )
    return html, policy


@router.get("/docs")
async def swagger_ui() -> HTMLResponse:
    html, policy = _swagger_ui()
    return HTMLResponse(html, headers={CSP: policy})


@router.get("/redoc")
async def redoc() -> HTMLResponse:
    html, policy = _redoc()
    return HTMLResponse(html, headers={CSP: policy})
