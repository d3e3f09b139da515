"""Baidu, emulated: ``/s?wd=…&pn=…&rn=…`` answered in www.baidu.com's markup.

Each result is a ``div.result.c-container`` in ``#content_left``: an ``h3.t`` whose link goes
through Baidu's ``/link?url=…`` redirect, the real target in the card's ``mu``, the
``.c-abstract`` text and the ``.c-showurl`` source line. Then the "相关搜索" table ``#rs``, the
``#page`` pager with ``pn`` offsets and the "百度为您找到相关结果约N个" count. An empty page
is ``div.nors``; the block page is Baidu's "百度安全验证" rotate-image slider.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import ClassVar
from urllib.parse import urlencode, urlsplit

from serpgate.sandbox.corpus import Document, ResultPage
from serpgate.sandbox.emulator import (
    Emulator,
    PageRequest,
    esc,
    pager_numbers,
    query_int,
    query_text,
)

_MAX_PAGE_SIZE = 50  # Baidu's own cap on rn
_PAGER_SIZE = 10


class BaiduEmulator(Emulator):
    engine: ClassVar[str] = "baidu"
    paths: ClassVar[tuple[str, ...]] = ("/s",)

    def page_request(self, query: Mapping[str, str]) -> PageRequest | None:
        text = query_text(query, "wd")
        if not text:
            return None
        num = min(max(query_int(query, "rn", 10), 1), _MAX_PAGE_SIZE)
        return PageRequest.at_offset(text, query_int(query, "pn", 0), num)

    def render(self, page: ResultPage, base: str) -> str:
        if page.documents:
            start = (page.page - 1) * page.num
            results = "".join(
                _result(doc, start + rank) for rank, doc in enumerate(page.documents, start=1)
            )
        else:
            results = (
                '<div class="nors"><p>抱歉，未找到相关结果。</p><div class="tip_head">温馨提示：'
                "</div><ul><li>请检查您的输入是否正确</li></ul></div>"
            )
        return (
            '<!DOCTYPE html><html><head><meta charset="utf-8">'
            f'<title>{esc(page.query)}_百度搜索</title></head><body><div id="wrapper">'
            f'<form id="form" name="f" action="{esc(base)}/s">'
            f'<input id="kw" name="wd" class="s_ipt" value="{esc(page.query)}" maxlength="255">'
            '</form><div id="container"><div class="head_nums_cont_outer"><div class="nums">'
            f'<span class="nums_text">百度为您找到相关结果约{page.total_results:,}个</span>'
            f'</div></div><div id="content_left">{results}</div>'
            f"{_related(page, base)}{_pager(page, base)}</div></div></body></html>"
        )

    def render_block(self) -> str:
        return (
            '<html lang="zh-CN"><head><title>百度安全验证</title></head><body>'
            '<div class="passMod_dialog-wrapper passMod_show"><div class="passMod_dialog-header">'
            '<p>百度安全验证</p></div><div class="passMod_dialog-body">'
            '<div class="passMod_spin-tip">请完成下方验证后继续操作</div>'
            '<p class="passMod_slide-tip">拖动左侧滑块使图片为正</p></div></div></body></html>'
        )


def _result(doc: Document, rank: int) -> str:
    token = hashlib.sha256(doc.url.encode()).hexdigest()[:40]
    redirect = f"http://www.baidu.com/link?url={token}"
    parts = urlsplit(doc.url)
    return (
        f'<div class="result c-container new-pmd" id="{rank}" srcid="1599" tpl="se_com_default"'
        f' mu="{esc(doc.url)}"><h3 class="t"><a href="{redirect}" target="_blank">'
        f'{esc(doc.title)}</a></h3><div class="c-abstract">{esc(doc.snippet)}</div>'
        '<div class="f13 se_st_footer"><a target="_blank" class="c-showurl c-color-gray"'
        f' href="{redirect}">{esc(parts.netloc + parts.path)}</a></div></div>'
    )


def _link(base: str, query: str, **extra: str | int) -> str:
    return esc(f"{base}/s?{urlencode({'wd': query, **extra})}")


def _related(page: ResultPage, base: str) -> str:
    if not page.related_searches or not page.documents:
        return ""
    cells = "".join(
        f'<th><a href="{_link(base, related)}">{esc(related)}</a></th>'
        for related in page.related_searches
    )
    return f'<div id="rs"><div class="tt">相关搜索</div><table><tr>{cells}</tr></table></div>'


def _pager(page: ResultPage, base: str) -> str:
    if page.page == 1 and not page.has_next:
        return ""
    size = {} if page.num == 10 else {"rn": page.num}
    items = []
    for number in pager_numbers(page, _PAGER_SIZE):
        if number == page.page:
            items.append(f'<strong><span class="pc">{number}</span></strong>')
        else:
            href = _link(base, page.query, pn=(number - 1) * page.num, **size)
            items.append(f'<a href="{href}"><span class="pc">{number}</span></a>')
    if page.has_next:
        href = _link(base, page.query, pn=page.page * page.num, **size)
        items.append(f'<a class="n" href="{href}">下一页 &gt;</a>')
    return f'<div id="page"><div class="page-inner">{"".join(items)}</div></div>'
