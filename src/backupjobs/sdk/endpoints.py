"""The endpoints of both API generations: their URLs, bodies and page answers.

>>> api = Endpoints("https://graph.example.com")
>>> api.v3_jobs("00427fbc-8832-46cf-a1d2-582fa46ec638", job_type=7).first.json
{'jobType': 7}
>>> api.modern_service("00427fbc-8832-46cf-a1d2-582fa46ec638", 7, 302).call.url
'https://graph.example.com/partner/customers/00427fbc-8832-46cf-a1d2-582fa46ec638/jobs/jobType/Microsoft%20365/jobModule/SharePoint%20Online'

Job types and modules may be given as codes or as catalog names, to either generation:
the v3 API is sent codes, the Modern API names (as its document shows them).

Each endpoint is declared here once, as a plan (a :class:`~backupjobs.sdk.flows.PageWalk`
or a :class:`~backupjobs.sdk.flows.Fetch`): ``client.v3`` and ``client.modern`` of either
client carry them out, and their docstrings are the methods'.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import quote

import httpx

from backupjobs.catalog import JOB_MODULES, JOB_TYPES, CodeTable
from backupjobs.sdk.errors import WireFormatError
from backupjobs.sdk.flows import Call, Fetch, PageWalk
from backupjobs.sdk.parsing import parse_count, parse_customer, parse_job, parse_rows
from backupjobs.sdk.records import Customer, Job, Page

V3_ROOT = "/partner/external/v3/general"
MODERN_ROOT = "/partner"
#: The v3 jobs endpoint at the path the vendor shipped it under (also served at
#: ``.../customers/{customerId}/jobs``, the path its document shows).
V3_JOBS = V3_ROOT + "/customers/{customer}/avpt-products/jobs/batch"
V3_CUSTOMERS = V3_ROOT + "/customers/batch"
V3_MAX_PAGE_SIZE = 100
NEXT_LINK = "@odata.nextLink"
COUNT = "@odata.count"

#: A job type or module: its code, or its name in the catalog (any case).
CodeOrName = int | str


def code_of(table: CodeTable, value: CodeOrName | None) -> int | None:
    """The code for a v3 body; a name the catalog does not know is a ``ValueError``."""
    if value is None or isinstance(value, int):
        return value
    return table.parse(value).code


def name_of(table: CodeTable, value: CodeOrName) -> str:
    """The name for a Modern path; values the catalog does not know are sent as given."""
    entry = table.find(value)
    return str(value) if entry is None else entry.display


def _segment(value: str) -> str:
    return quote(value, safe="")


def _port(url: httpx.URL) -> int | None:
    return url.port or {"http": 80, "https": 443}.get(url.scheme)


class Endpoints:
    """The calls of both generations under one API base URL, and readers of their answers."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._base = httpx.URL(self.base_url)

    def url(self, path: str) -> str:
        return self.base_url + path

    # --- v3 ------------------------------------------------------------------------------

    def v3_jobs(
        self,
        customer_id: str,
        *,
        job_type: CodeOrName | None = None,
        job_module: CodeOrName | None = None,
        page_size: int = V3_MAX_PAGE_SIZE,
    ) -> PageWalk[Job]:
        """Each backup service of a customer with its latest job (or never run), by type
        then module; ``job_type``/``job_module`` (codes or names) filter on the service
        (permission ``elements.jobs.read.all``;
        ``POST .../customers/{customerId}/avpt-products/jobs/batch``).

        >>> # client.v3.jobs(customer_id, job_type="Microsoft 365", job_module=302)
        """
        body: dict[str, int] = {}
        if (type_code := code_of(JOB_TYPES, job_type)) is not None:
            body["jobType"] = type_code
        if (module_code := code_of(JOB_MODULES, job_module)) is not None:
            body["jobModule"] = module_code
        url = self.url(V3_JOBS.format(customer=_segment(customer_id)))
        return _v3_walk(url, body, page_size, lambda row: parse_job(row, customer_id))

    def v3_customers(
        self, customer_ids: Sequence[str] | None = None, *, page_size: int = V3_MAX_PAGE_SIZE
    ) -> PageWalk[Customer]:
        """The app's customers by name (permission ``elements.customers.read.all``;
        ``POST .../customers/batch``); ``customer_ids`` keeps only those (one is sent as
        the vendor's ``customerId`` filter, several as ``customerIds``)."""
        body: dict[str, Any] = {}
        if customer_ids is not None and len(customer_ids) == 1:
            body["customerId"] = customer_ids[0]
        elif customer_ids is not None:
            body["customerIds"] = list(customer_ids)
        return _v3_walk(self.url(V3_CUSTOMERS), body, page_size, parse_customer)

    # --- Modern --------------------------------------------------------------------------

    def modern_customers(
        self, *, page_size: int | None = None, count: bool = False
    ) -> PageWalk[Customer]:
        """The app's customers by name (``GET /partner/customers``), following
        ``@odata.nextLink``; ``page_size`` is sent as ``Prefer: odata.maxpagesize`` (the
        service's page size if None), ``count`` asks for the total (``$count=true``).
        Permission ``partner.customers.read.all``."""
        return self._odata_walk(
            self.url(f"{MODERN_ROOT}/customers"), page_size, count, parse_customer
        )

    def modern_jobs(
        self,
        customer_id: str,
        *,
        job_type: CodeOrName | None = None,
        job_module: CodeOrName | None = None,
        page_size: int | None = None,
        count: bool = False,
    ) -> PageWalk[Job]:
        """Each backup service of a customer with its latest job, as ``client.v3.jobs``
        (``GET /partner/customers/{Id}/jobs``, permission ``partner.jobs.read.all``). The
        Modern API has no filter here: the SDK filters what it answers, and then ``total``
        is None."""
        wanted = (code_of(JOB_TYPES, job_type), code_of(JOB_MODULES, job_module))
        filtered = wanted != (None, None)

        def read(row: Any) -> Job | None:
            job = parse_job(row, customer_id)
            pairs = zip(wanted, job.service, strict=True)
            return job if all(code in (None, found) for code, found in pairs) else None

        url = self.url(f"{MODERN_ROOT}/customers/{_segment(customer_id)}/jobs")
        return self._odata_walk(url, page_size, count, read, filtered=filtered)

    def modern_customer(self, customer_id: str) -> Fetch[Customer]:
        """One customer (``GET /partner/customers/{Id}``, an OData entity);
        :class:`~backupjobs.sdk.NotFoundError` if the app cannot see it."""
        url = self.url(f"{MODERN_ROOT}/customers/{_segment(customer_id)}")
        return Fetch(Call("GET", url), parse_customer)

    def modern_service(
        self, customer_id: str, job_type: CodeOrName, job_module: CodeOrName
    ) -> Fetch[Job]:
        """One backup service's latest job (the seed endpoint,
        ``GET /partner/customers/{Id}/jobs/jobType/{JobType}/jobModule/{JobModule}``); a
        service that never ran is its placeholder row (``job.has_run`` is False).

        >>> # client.modern.service(customer_id, "Microsoft 365", "SharePoint Online")
        """
        path = (
            f"{MODERN_ROOT}/customers/{_segment(customer_id)}/jobs"
            f"/jobType/{_segment(name_of(JOB_TYPES, job_type))}"
            f"/jobModule/{_segment(name_of(JOB_MODULES, job_module))}"
        )

        def read(body: Any) -> Job:
            rows = parse_rows(body, "value")
            if not rows:
                raise WireFormatError("value", rows, "the service's row")
            return parse_job(rows[0], customer_id)

        return Fetch(Call("GET", self.url(path)), read)

    def _odata_walk(
        self,
        url: str,
        page_size: int | None,
        count: bool,
        read_row: Callable[[Any], Any],
        *,
        filtered: bool = False,
    ) -> PageWalk[Any]:
        if page_size is not None and page_size < 1:
            raise ValueError(f"page_size must be at least 1, not {page_size}")
        params = [("$count", "true")] if count else []
        # The page size is a preference (OData's server-driven paging): $top would end
        # the whole walk after page_size rows.
        headers = {} if page_size is None else {"Prefer": f"odata.maxpagesize={page_size}"}

        def read(call: Call, body: Any) -> Page[Any]:
            rows = [read_row(row) for row in parse_rows(body, "value")]
            total = None if filtered else parse_count(_member(body, COUNT), COUNT)
            link = _member(body, NEXT_LINK)
            return Page([row for row in rows if row is not None], total, self._follow(call, link))

        return PageWalk(Call("GET", url, tuple(params), headers=headers), read)

    def _follow(self, call: Call, link: object) -> Call | None:
        """The call for an ``@odata.nextLink``: only to the API's own host, which is the
        only one the bearer token is sent to, and never the same page again."""
        if link is None:
            return None
        if not isinstance(link, str) or not link:
            raise WireFormatError(NEXT_LINK, link, "a URL")
        current = httpx.URL(call.url)
        if call.params:
            current = current.copy_merge_params(call.params)
        target = current.join(link)
        same_origin = (target.scheme, target.host, _port(target)) == (
            self._base.scheme,
            self._base.host,
            _port(self._base),
        )
        if not same_origin:
            raise WireFormatError(
                NEXT_LINK, link, f"a link to {self.base_url} (the token is sent only there)"
            )
        if _same_request(target, current):
            raise WireFormatError(NEXT_LINK, link, "a link to another page than this one")
        return Call("GET", str(target), headers=call.headers)


def _same_request(one: httpx.URL, other: httpx.URL) -> bool:
    """Equal but for how the query is encoded (``$skip`` or ``%24skip``)."""
    return one.copy_with(query=None) == other.copy_with(query=None) and sorted(
        one.params.multi_items()
    ) == sorted(other.params.multi_items())


def _member(body: Any, name: str) -> Any:
    return body.get(name) if isinstance(body, Mapping) else None


def _v3_walk(
    url: str, body: dict[str, Any], page_size: int, read_row: Callable[[Any], Any]
) -> PageWalk[Any]:
    if not 1 <= page_size <= V3_MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be from 1 to {V3_MAX_PAGE_SIZE}, not {page_size}")

    def read(call: Call, answer: Any) -> Page[Any]:
        rows = [read_row(row) for row in parse_rows(answer, "data")]
        metadata = _member(answer, "metadata")
        total = parse_count(_member(metadata, "totalCount"), "metadata.totalCount")
        if total is None:
            raise WireFormatError("metadata.totalCount", metadata, "the number of rows")
        index = int(dict(call.params)["pageIndex"])
        more = bool(rows) and index * page_size < total
        following = replace(call, params=_page_params(index + 1, page_size)) if more else None
        return Page(rows, total, following)

    return PageWalk(Call("POST", url, _page_params(1, page_size), json=body), read)


def _page_params(index: int, size: int) -> tuple[tuple[str, str], ...]:
    return (("pageIndex", str(index)), ("pageSize", str(size)))
