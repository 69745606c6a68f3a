"""``ftprep review``: a local page to read, accept, reject and edit examples.

A WSGI application (:class:`ReviewApp`) served by the standard library's
:mod:`wsgiref` server, one thread per request, bound to 127.0.0.1 only. Every request must
carry the session's random token (in the URL the command prints, then as a cookie; the
page's writes send it in a header, so another site cannot forge them), and name this
machine as its host (a DNS-rebinding page cannot reach it). The page's assets ship in the
package (``ftprep/review/static``): nothing is fetched from elsewhere.

Decisions go to the review file (:class:`~ftprep.review.store.Review`) as they are made.
What cannot be saved is refused with a message the page shows, and the file is never
touched: a decision for a record the data does not hold, a malformed request, a decision
made on a stale view of the record (another tab decided since: the record's revision
differs), or data files that changed since the review started.
"""

from __future__ import annotations

import hashlib
import http.cookies
import mimetypes
import os
import re
import secrets
import socketserver
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import orjson

from ftprep.findings import Finding, Severity, display_path
from ftprep.review.data import cluster_rows, fingerprints, load_rows
from ftprep.review.store import REASONS, Decision, Review, ReviewConflict, ReviewError
from ftprep.validate.check import CheckResult

TOKEN_HEADER = "X-Ftprep-Token"
COOKIE = "ftprep_review_token"
PAGE = 100
"""Rows per page of the example list."""
MAX_BODY = 4 << 20
"""The largest request body accepted (an edited turn of a long example fits)."""
SEVERITY_RANK = {Severity.ERROR: 3, Severity.WARNING: 2, Severity.INFO: 1}
SPLIT_NAMES = ("train", "holdout", "rejected")

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


class Refused(Exception):
    """A request the page must be told about: an HTTP status and a message."""

    def __init__(self, status: HTTPStatus, message: str):
        super().__init__(message)
        self.status = status


def data_signature(paths: Sequence[str]) -> str:
    """A short hash of each input's size and modification time: another value means a
    file changed since."""
    digest = hashlib.sha256()
    for path in paths:
        stat = Path(path).stat()
        digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def short_names(paths: Sequence[str]) -> list[str]:
    """The inputs as the page names them: relative to the folder they share (a lone file by
    its name), so that long or temporary folders do not crowd the page."""
    if not paths:
        return []
    resolved = [Path(p).resolve() for p in paths]
    common = Path(os.path.commonpath([p.parent for p in resolved]))
    return [display_path(p.relative_to(common).as_posix()) for p in resolved]


@dataclass(slots=True)
class Row:
    """One input record as the page shows it."""

    row: int
    fingerprint: str
    path: str
    line: int
    split: str
    tokens: int
    turns: list[dict[str, Any]]
    raw: str | None
    findings: list[Finding]
    search: str

    @property
    def rank(self) -> int:
        """The highest severity of its findings (0 for none)."""
        return max((SEVERITY_RANK[f.severity] for f in self.findings), default=0)


class ReviewData:
    """The records under review, their findings, splits and duplicate clusters."""

    def __init__(self, check: CheckResult, destination: Sequence[int]):
        from ftprep.write.prepare import _findings_by_row

        self.check = check
        self.paths = list(check.paths)
        self.version = data_signature(self.paths)
        by_row, self.unplaced = _findings_by_row(check)
        self.clusters = cluster_rows(check)
        prints = fingerprints(check)
        facts = check.facts
        names = short_names(self.paths)
        self.rows: list[Row] = []
        for row, item in load_rows(check, range(len(facts))):
            turns = []
            if item.example is not None:
                for name, index, message in item.example.iter_messages():
                    turns.append(
                        {
                            "turn": f"{name}/{index}",
                            "role": str(message.role),
                            "text": message.text(),
                        }
                    )
            raw = None if item.example is not None else item.raw.raw.decode("utf-8", "replace")
            found = sorted(by_row.get(row, []), key=Finding.sort_key)
            search = "\n".join(t["text"] for t in turns).lower() if turns else (raw or "").lower()
            self.rows.append(
                Row(
                    row=row,
                    fingerprint=prints[row],
                    path=names[int(facts.path[row])],
                    line=int(facts.line[row]),
                    split=SPLIT_NAMES[int(destination[row])],
                    tokens=int(facts.tokens[row]),
                    turns=turns,
                    raw=raw,
                    findings=found,
                    search=search,
                )
            )
        self.by_fingerprint = {r.fingerprint: r.row for r in reversed(self.rows)}
        self.order = sorted(range(len(self.rows)), key=lambda r: (-self.rows[r].rank, r))

    @classmethod
    def load(cls, check: CheckResult) -> ReviewData:
        """The records of ``check``, each with the split ``prepare`` would give it."""
        from ftprep.split import SplitSpec
        from ftprep.write.prepare import plan

        settings = check.config.prepare
        spec = (
            SplitSpec(None, settings.holdout_count)
            if settings.holdout_count is not None
            else SplitSpec(settings.holdout)
        )
        the_plan = plan(check, spec, seed=settings.seed)
        return cls(check, the_plan.destination.tolist())

    def codes(self) -> dict[str, int]:
        """Records with a finding of each code."""
        found = Counter(code for r in self.rows for code in {f.code for f in r.findings})
        return dict(sorted(found.items()))


QUOTED = re.compile(r""""([^"]{4,})"|'([^']{4,})'""")
"""Text a finding's message quotes from the record (``refuses: "I'm sorry, but..."``)."""
WORD_END = re.compile(r"\s|$")


def _finding(finding: Finding, texts: dict[str, str] | None = None) -> dict[str, Any]:
    """A finding for the page: its turn (``messages/1``) and, where the finding points at a
    piece of the turn's text, the ``span`` to highlight: from its ``offset`` to the end of
    the word there (a secret, a placeholder), or the text its message quotes."""
    loc = finding.location
    turn = None
    if loc.pointer:
        parts = loc.pointer.strip("/").split("/")
        if len(parts) >= 2 and parts[1].isdigit():
            turn = f"{parts[0]}/{parts[1]}"
    text = (texts or {}).get(turn or "", "")
    span = None
    offset = finding.data.get("offset")
    if isinstance(offset, int) and 0 <= offset < len(text):
        end = WORD_END.search(text, offset + 1)
        span = [offset, end.start() if end else len(text)]
    else:
        for match in QUOTED.finditer(finding.message):
            quote = (match.group(1) or match.group(2)).rstrip("….")
            start = text.find(quote)
            if start >= 0:
                span = [start, start + len(quote)]
                break
    return {
        "code": finding.code,
        "severity": finding.severity.value,
        "message": finding.message,
        "hint": finding.hint,
        "turn": turn,
        "span": span,
    }


def _decision(decision: Decision | None) -> dict[str, Any] | None:
    return None if decision is None else decision.to_dict()


class ReviewApp:
    """The review page and its JSON API, as a WSGI application."""

    def __init__(self, data: ReviewData, review: Review, token: str | None = None):
        self.data = data
        self.review = review
        self.token = token or secrets.token_urlsafe(24)
        self.hosts: set[str] = set()
        """``host:port`` names this server answers to (set when it is bound)."""

    # --- WSGI ------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            self._authorise(environ)
            status, headers, body = self._route(environ)
        except Refused as err:
            status, headers, body = _json_response(err.status, {"error": str(err)})
        except ReviewConflict as err:
            status, headers, body = _json_response(HTTPStatus.CONFLICT, {"error": str(err)})
        except ReviewError as err:
            status, headers, body = _json_response(HTTPStatus.BAD_REQUEST, {"error": str(err)})
        except OSError as err:  # the review file cannot be written (a full disk...)
            message = f"cannot save the decision: {err.strerror or err}"
            status, headers, body = _json_response(
                HTTPStatus.INTERNAL_SERVER_ERROR, {"error": message}
            )
        headers.extend(
            [
                ("Cache-Control", "no-store"),
                ("X-Content-Type-Options", "nosniff"),
                ("Referrer-Policy", "no-referrer"),
                ("Content-Security-Policy", "default-src 'self'; img-src 'self' data:"),
            ]
        )
        start_response(f"{status.value} {status.phrase}", headers)
        return [body]

    def _authorise(self, environ: dict[str, Any]) -> None:
        host = environ.get("HTTP_HOST", "")
        if self.hosts and host not in self.hosts:
            raise Refused(HTTPStatus.FORBIDDEN, f"ftprep review answers only to {min(self.hosts)}")
        query = parse_qs(environ.get("QUERY_STRING", ""))
        cookies = http.cookies.SimpleCookie(environ.get("HTTP_COOKIE", ""))
        header = environ.get("HTTP_" + TOKEN_HEADER.upper().replace("-", "_"))
        if environ["REQUEST_METHOD"] != "GET":
            given = [header]  # a write needs the header: a cookie alone could be forged
        else:
            cookie = cookies[COOKIE].value if COOKIE in cookies else None
            given = [header, *query.get("token", []), cookie]
        token = self.token.encode()
        if not any(g is not None and secrets.compare_digest(g.encode(), token) for g in given):
            raise Refused(
                HTTPStatus.FORBIDDEN,
                "missing or wrong token: open the address `ftprep review` printed",
            )

    def _route(self, environ: dict[str, Any]) -> tuple[HTTPStatus, list[tuple[str, str]], bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "/")
        query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        if method == "GET" and path == "/":
            status, headers, body = _static("index.html")
            cookie = f"{COOKIE}={self.token}; HttpOnly; SameSite=Strict; Path=/"
            headers.append(("Set-Cookie", cookie))
            return status, headers, body
        if method == "GET" and path.startswith("/static/"):
            return _static(path.removeprefix("/static/"))
        if method == "GET" and path == "/api/meta":
            return _json_response(HTTPStatus.OK, self.meta())
        if method == "GET" and path == "/api/list":
            return _json_response(HTTPStatus.OK, self.listing(query))
        if method == "GET" and path == "/api/item":
            return _json_response(HTTPStatus.OK, self.item(_int(query.get("row"), "row")))
        if method == "POST" and path == "/api/decide":
            return _json_response(HTTPStatus.OK, self.decide(_body(environ)))
        if path in ("/", "/api/meta", "/api/list", "/api/item", "/api/decide"):
            raise Refused(HTTPStatus.METHOD_NOT_ALLOWED, f"{method} is not allowed on {path}")
        raise Refused(HTTPStatus.NOT_FOUND, f"no such page: {path}")

    # --- API -------------------------------------------------------------------------------

    def progress(self, decisions: dict[str, Decision] | None = None) -> dict[str, int]:
        """Records reviewed (with a decision) of the total."""
        decisions = self.review.decisions() if decisions is None else decisions
        reviewed = sum(1 for r in self.data.rows if r.fingerprint in decisions)
        return {"reviewed": reviewed, "total": len(self.data.rows)}

    def meta(self) -> dict[str, Any]:
        """What the page needs once: files, filters' values, reasons, progress."""
        data = self.data
        return {
            "files": [display_path(p) for p in data.paths],
            "review_file": display_path(str(self.review.path)),
            "version": data.version,
            "codes": data.codes(),
            "severities": [s.value for s in (Severity.ERROR, Severity.WARNING, Severity.INFO)],
            "splits": list(SPLIT_NAMES),
            "clusters": len({tuple(m) for m in data.clusters.values()}),
            "reasons": list(REASONS),
            "dataset_findings": [_finding(f) for f in data.unplaced],
            "progress": self.progress(),
        }

    def listing(self, query: dict[str, str]) -> dict[str, Any]:
        """The rows matching the filters, flagged first, a page at a time."""
        decisions = self.review.decisions()
        code, severity = query.get("code"), query.get("severity")
        split, cluster = query.get("split"), query.get("cluster")
        status, text = query.get("status"), (query.get("q") or "").strip().lower()
        members = None
        if cluster and cluster != "any":
            chosen = _int(cluster, "cluster")
            members = set(self.data.clusters.get(chosen, [chosen]))
        matched = []
        for index in self.data.order:
            row = self.data.rows[index]
            decision = decisions.get(row.fingerprint)
            if code and all(f.code != code for f in row.findings):
                continue
            if severity and all(f.severity.value != severity for f in row.findings):
                continue
            if split and row.split != split:
                continue
            if cluster == "any" and index not in self.data.clusters:
                continue
            if members is not None and index not in members:
                continue
            if status and (decision.decision if decision else "unreviewed") != status:
                continue
            if text and text not in row.search:
                continue
            matched.append(index)
        offset = max(_int(query.get("offset", "0"), "offset"), 0)
        shown = matched[offset : offset + PAGE]
        page = [self._summary(self.data.rows[r], decisions) for r in shown]
        return {
            "matched": len(matched),
            "offset": offset,
            "rows": page,
            "order": matched,
            "progress": self.progress(decisions),
        }

    def _summary(self, row: Row, decisions: dict[str, Decision]) -> dict[str, Any]:
        decision = decisions.get(row.fingerprint)
        first = next((t["text"] for t in row.turns if t["role"] == "user"), None)
        preview = (first if first is not None else row.raw or "")[:120]
        worst = max(row.findings, key=lambda f: SEVERITY_RANK[f.severity], default=None)
        return {
            "row": row.row,
            "path": row.path,
            "line": row.line,
            "codes": sorted({f.code for f in row.findings}),
            "severity": worst.severity.value if worst else None,
            "decision": decision.decision if decision else None,
            "preview": preview,
        }

    def item(self, index: int, decisions: dict[str, Decision] | None = None) -> dict[str, Any]:
        """One record in full: its turns (as edited, with the original), findings, cluster."""
        if not 0 <= index < len(self.data.rows):
            raise Refused(HTTPStatus.NOT_FOUND, f"no record {index} in the data under review")
        decisions = self.review.decisions() if decisions is None else decisions
        row = self.data.rows[index]
        decision = decisions.get(row.fingerprint)
        edits = decision.edits if decision else {}
        texts = {t["turn"]: t["text"] for t in row.turns}
        turns = [
            {**t, "original": t["text"], "text": edits.get(t["turn"], t["text"])} for t in row.turns
        ]
        cluster = [
            {"row": r, "path": self.data.rows[r].path, "line": self.data.rows[r].line}
            for r in self.data.clusters.get(index, [])
            if r != index
        ]
        return {
            "row": index,
            "fingerprint": row.fingerprint,
            "path": row.path,
            "line": row.line,
            "split": row.split,
            "tokens": row.tokens,
            "turns": turns,
            "raw": row.raw,
            "findings": [_finding(f, texts) for f in row.findings],
            "cluster": cluster,
            "decision": _decision(decision),
            "rev": decision.rev if decision else 0,
            "progress": self.progress(decisions),
        }

    def decide(self, body: dict[str, Any]) -> dict[str, Any]:
        """Save one decision: ``{"fingerprint", "decision", "rev", "version"}`` and, by kind,
        ``reason`` (reject), ``turn`` and ``text`` (edit), ``codes`` (accept); ``clear``
        forgets the decision. Returns the record as :meth:`item` does."""
        if body.get("version") != self.data.version:
            raise Refused(
                HTTPStatus.CONFLICT,
                "this page belongs to an earlier review session: reload the page",
            )
        if data_signature(self.data.paths) != self.data.version:
            raise Refused(
                HTTPStatus.CONFLICT,
                "the data files changed since the review started, so this page may show "
                "records that are no longer there: restart `ftprep review` to review them",
            )
        fingerprint = body.get("fingerprint")
        index = self.data.by_fingerprint.get(fingerprint) if isinstance(fingerprint, str) else None
        if index is None:
            raise Refused(
                HTTPStatus.NOT_FOUND, f"no record with fingerprint {fingerprint!r} in the data"
            )
        row = self.data.rows[index]
        rev = _int(body.get("rev"), "rev")
        where = (row.path, row.line)
        kind = body.get("decision")
        if kind == "accept":
            codes = body.get("codes")
            if codes is not None and not (
                isinstance(codes, list) and all(isinstance(c, str) for c in codes)
            ):
                raise Refused(HTTPStatus.BAD_REQUEST, "codes must be a list of rule codes")
            self.review.accept(row.fingerprint, codes, expect_rev=rev, where=where)
        elif kind == "reject":
            reason = body.get("reason")
            if not isinstance(reason, str):
                raise Refused(HTTPStatus.BAD_REQUEST, "a rejection needs a reason")
            self.review.reject(row.fingerprint, reason, expect_rev=rev, where=where)
        elif kind == "edit":
            turn, text = body.get("turn"), body.get("text")
            if not isinstance(turn, str) or not isinstance(text, str):
                raise Refused(HTTPStatus.BAD_REQUEST, "an edit needs a turn and its new text")
            if turn not in {t["turn"] for t in row.turns}:
                raise Refused(HTTPStatus.BAD_REQUEST, f"the record has no turn {turn}")
            self.review.edit(row.fingerprint, turn, text, expect_rev=rev, where=where)
        elif kind == "clear":
            self.review.clear(row.fingerprint, expect_rev=rev)
        else:
            raise Refused(HTTPStatus.BAD_REQUEST, f"unknown decision {kind!r}")
        return self.item(index)


def _int(value: Any, name: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    raise Refused(HTTPStatus.BAD_REQUEST, f"{name} must be an integer, not {value!r}")


def _body(environ: dict[str, Any]) -> dict[str, Any]:
    """The request's JSON object (:class:`Refused` when it is not one)."""
    if not environ.get("CONTENT_TYPE", "").startswith("application/json"):
        raise Refused(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send the decision as application/json")
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise Refused(HTTPStatus.BAD_REQUEST, "bad Content-Length") from None
    if not 0 < length <= MAX_BODY:
        raise Refused(HTTPStatus.BAD_REQUEST, f"the request body must be 1 to {MAX_BODY} bytes")
    try:
        body = orjson.loads(environ["wsgi.input"].read(length))
    except orjson.JSONDecodeError as err:
        raise Refused(HTTPStatus.BAD_REQUEST, f"the request is not valid JSON: {err}") from None
    if not isinstance(body, dict):
        raise Refused(HTTPStatus.BAD_REQUEST, "the request must be a JSON object")
    return body


def _json_response(
    status: HTTPStatus, value: Any
) -> tuple[HTTPStatus, list[tuple[str, str]], bytes]:
    return status, [("Content-Type", "application/json")], orjson.dumps(value)


STATIC = ("index.html", "app.js", "app.css")


def _static(name: str) -> tuple[HTTPStatus, list[tuple[str, str]], bytes]:
    """A file of the page, from the package (only the files it ships)."""
    if name not in STATIC:
        raise Refused(HTTPStatus.NOT_FOUND, f"no such file: {name}")
    data = resources.files("ftprep.review").joinpath("static", name).read_bytes()
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return HTTPStatus.OK, [("Content-Type", f"{kind}; charset=utf-8")], data


class _Server(socketserver.ThreadingMixIn, WSGIServer):
    """A thread per request: a browser keeps idle connections open."""

    daemon_threads = True
    allow_reuse_address = True


class _Handler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the page shows errors; the terminal keeps the address visible."""


def make_review_server(app: ReviewApp, port: int = 0) -> WSGIServer:
    """A server for ``app`` on 127.0.0.1:``port`` (0: a free port), not yet serving."""
    server = make_server("127.0.0.1", port, app, server_class=_Server, handler_class=_Handler)
    bound = server.server_address[1]
    app.hosts = {f"127.0.0.1:{bound}", f"localhost:{bound}"}
    return server


def url_of(server: WSGIServer, app: ReviewApp) -> str:
    """The address to open: the server's, with the token."""
    return f"http://127.0.0.1:{server.server_address[1]}/?token={app.token}"


def open_page(check: CheckResult, review: Review) -> ReviewApp:
    """The application reviewing the records of ``check`` into ``review``."""
    return ReviewApp(ReviewData.load(check), review)
