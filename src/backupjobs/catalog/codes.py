"""The code tables shared by both API generations, the CLI and the dashboard.

Codes and seed names come from the v3 jobs API document; the Modern API writes the
``display`` form. Lookups accept a code, a seed name or a display name, in any case; an
unknown name is reported with the closest known ones (:mod:`.suggestions`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from urllib.parse import unquote

from backupjobs.catalog.suggestions import CODES_REFERENCE, did_you_mean


@dataclass(frozen=True, slots=True)
class Code:
    """One entry of a code table: ``Code(3, "Failed", "Failed")``."""

    code: int
    name: str
    display: str


class UnknownCodeError(ValueError):
    """A code or name that a table does not hold; ``field`` says which table.

    An unknown name is told the closest of ``names`` and where every name is listed:
    ``unknown jobModule 'Sharepoint': did you mean "SharePoint Online"? (all names:
    docs/codes.md)``. An unknown number is only named: no number is close to another.
    """

    def __init__(
        self, field: str, value: object, names: Iterable[str] | Mapping[str, str] = ()
    ) -> None:
        message = f"unknown {field} {value!r}"
        if isinstance(value, str):
            message += f"{did_you_mean(value, names)} (all names: {CODES_REFERENCE})"
        super().__init__(message)
        self.field = field
        self.value = value


class AmbiguousCodeError(UnknownCodeError):
    """A name that two or more codes of a table share (jobModule "Archiver": 8 and 309):
    it names none of them; ``codes`` are the candidates."""

    def __init__(self, field: str, value: object, codes: tuple[int, ...]) -> None:
        super().__init__(field, value)
        listed = ", ".join(map(str, codes[:-1])) + f" and {codes[-1]}"
        self.args = (f"ambiguous {field} {value!r}: the name of codes {listed}; give the code",)
        self.codes = codes


class CodeTable:
    """Codes of one kind, found by number or by name.

    Every layer reads a code or a name with :meth:`find` (None for a value the table does
    not hold, or a name it cannot tell apart) or :meth:`parse` (:class:`UnknownCodeError`
    naming it; :class:`AmbiguousCodeError`, a kind of it, for a name that two codes
    share), and keeps only its own answer to that error. :meth:`require` is :meth:`parse`
    for a number alone, for the codes already stored that rendering names.

    >>> JOB_TYPES.parse("microsoft%20365").code
    7
    >>> STATUSES.require(4).display
    'Finished with exception'
    >>> JOB_MODULES.find("Floppy Disks") is None
    True
    """

    def __init__(self, field: str, entries: Iterable[Code]) -> None:
        self.field = field
        self._by_code: dict[int, Code] = {}
        named: dict[str, list[Code]] = {}
        for entry in sorted(entries, key=lambda e: e.code):
            if entry.code in self._by_code:
                raise ValueError(f"duplicate {field} code {entry.code}")
            self._by_code[entry.code] = entry
            for key in {entry.name.casefold(), entry.display.casefold()}:
                named.setdefault(key, []).append(entry)
        self._by_name = {key: found[0] for key, found in named.items() if len(found) == 1}
        # Where codes share a name (jobModule "Archiver": 8 and 309), the name picks
        # none: each stays reachable by its number.
        self._ambiguous = {
            key: tuple(entry.code for entry in found)
            for key, found in named.items()
            if len(found) > 1
        }

    def __iter__(self) -> Iterator[Code]:
        return iter(self._by_code.values())

    def __len__(self) -> int:
        return len(self._by_code)

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def require(self, code: int) -> Code:
        """The entry for ``code``, or :class:`UnknownCodeError`."""
        try:
            return self._by_code[code]
        except KeyError:
            raise UnknownCodeError(self.field, code) from None

    def find(self, value: int | str) -> Code | None:
        """The entry named by ``value``, or None: a code, or text holding a code or a name
        in any case, URL-encoded or not."""
        return self._read(value)[0]

    def parse(self, value: int | str) -> Code:
        """The entry named by ``value`` (as :meth:`find` reads it), or
        :class:`UnknownCodeError` (:class:`AmbiguousCodeError` for a shared name)."""
        entry, read = self._read(value)
        if entry is None:
            if isinstance(read, str):
                codes = self._ambiguous.get(" ".join(read.split()).casefold())
                if codes is not None:
                    raise AmbiguousCodeError(self.field, read, codes)
            raise UnknownCodeError(self.field, read, self.names())
        return entry

    def names(self) -> dict[str, str]:
        """Every name an entry answers to (display and seed names), by code, each with the
        entry's display name."""
        return {name: entry.display for entry in self for name in (entry.display, entry.name)}

    def _read(self, value: int | str) -> tuple[Code | None, int | str]:
        """The entry (None if unknown), and the value as read: a number, or decoded text."""
        if isinstance(value, int):
            return self._by_code.get(value), value
        text = unquote(value).strip()
        unsigned = text[1:] if text.startswith("-") else text
        if unsigned.isdecimal():  # not isdigit(): int() refuses '²'
            number = int(text)
            return self._by_code.get(number), number
        return self._by_name.get(" ".join(text.split()).casefold()), text


def _same(code: int, name: str) -> Code:
    return Code(code, name, name)


JOB_TYPES = CodeTable(
    "jobType",
    [
        _same(0, "Microsoft 365 Scan"),
        _same(7, "Microsoft 365"),
        _same(10, "Google Workspace Scan"),
        _same(11, "Google Workspace"),
        _same(12, "IaaS PaaS"),
        _same(15, "Salesforce"),
        _same(16, "Dynamics 365"),
    ],
)

JOB_MODULES = CodeTable(
    "jobModule",
    [
        _same(0, "None"),
        _same(1, "Granular Backup and Restore"),
        _same(2, "Exchange Online Backup and Restore"),
        _same(3, "Report Center"),
        _same(4, "Content Management"),
        _same(5, "Deployment"),
        _same(6, "Replicator"),
        _same(7, "Administrator"),
        _same(8, "Archiver"),
        _same(9, "Cloud App Admin"),
        _same(10, "Retention"),
        _same(302, "SharePoint Online"),
        _same(303, "Exchange Online"),
        _same(304, "Microsoft 365 Groups"),
        _same(305, "OneDrive"),
        _same(306, "Project Online"),
        _same(307, "Exchange Online Public Folders"),
        _same(308, "Microsoft Teams"),
        _same(309, "Archiver"),
        _same(310, "Power BI"),
        _same(311, "Power Automate"),
        _same(312, "Power Apps"),
        _same(355, "Cloud Backup for Azure"),
        _same(356, "Azure Virtual Machine"),
        _same(357, "Disk"),
        _same(358, "Microsoft Entra ID"),
        _same(359, "Storage"),
        _same(360, "Admin Portal Settings"),
        _same(361, "Amazon EC2"),
        _same(362, "Azure Sql"),
        _same(363, "Dev Ops"),
        _same(364, "Microsoft Entra ID B2C"),
        _same(365, "Azure Sql Backup"),
        _same(366, "Google Virtual machine instance"),
        # Published by the vendor after the v3 document.
        _same(367, "Azure VMware Solution"),
        _same(368, "Microsoft SQL Server in Azure VM"),
        _same(369, "Google Cloud Storage"),
        _same(370, "Cosmos DB"),
        _same(371, "Azure PostgreSQL"),
        _same(401, "Dynamics"),
        _same(402, "Viva Engage"),
        _same(501, "Gmail"),
        _same(502, "Calendar"),
        _same(503, "Contacts"),
        _same(504, "Drive"),
        _same(505, "Shared Drives"),
        _same(506, "Google Classroom"),
        _same(507, "Chat"),
        _same(508, "Google Directory"),
        _same(550, "Dynamic CRMBackup"),
        _same(551, "Dynamic AXBackup"),
    ],
)

STATUSES = CodeTable(
    "status",
    [
        Code(0, "None", "None"),
        Code(1, "Running", "Running"),
        Code(2, "Finished", "Finished"),
        Code(3, "Failed", "Failed"),
        Code(4, "FinishedWithException", "Finished with exception"),
        Code(5, "Skipped", "Skipped"),
        Code(6, "Pending", "Pending"),
        Code(7, "ErrorStart", "Failed to start"),
        Code(8, "Canceled", "Canceled"),
        Code(9, "Rejected", "Rejected"),
        Code(10, "Stopped", "Stopped"),
        Code(11, "NotScan", "Not scanned"),
        Code(12, "Disabled", "Disabled"),
        Code(13, "NotStart", "Not started"),
        Code(14, "WaitForTheConfiguration", "Waiting for configuration"),
    ],
)

#: A customer's backup health (SPEC §5 "Customers"): v3 writes the code, Modern the name.
CUSTOMER_JOB_STATUSES = CodeTable(
    "jobStatus",
    [
        Code(0, "NotAvailable", "N/A"),
        Code(1, "Working", "Working"),
        Code(2, "Failed", "Failed"),
        Code(3, "WaitingForConfiguration", "Waiting for configuration"),
        Code(4, "MultipleIssuesFound", "Multiple issues found"),
        Code(5, "FinishedWithException", "Finished with exception"),
        Code(6, "NoBackupUpdates", "No backup updates"),
    ],
)

#: Who manages a customer's tenant (SPEC §5 "Customers").
MANAGEMENT_MODES = CodeTable(
    "managementMode",
    [
        Code(0, "Customer", "Customer management of tenant"),
        Code(1, "Partner", "Partner management of tenant"),
        Code(2, "ToBeConfigured", "To be configured"),
    ],
)

#: The Modern API's status for a backup service that has no job yet.
NOT_FINISHED = "Not Finished"

RUNNING = 1
FINISHED = 2
FAILED = 3
FINISHED_WITH_EXCEPTION = 4
