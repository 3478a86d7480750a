"""backupjobs: backup-job reporting for MSP partners.

The server is :func:`backupjobs.api.create_app`; the command line is ``backupjobs``.
"""

__version__ = "0.1.0"
