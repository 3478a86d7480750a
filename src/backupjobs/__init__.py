"""backupjobs: backup-job reporting for MSP partners.

The server is :func:`backupjobs.api.build_application`; the command line is ``backupjobs``.
"""

__version__ = "0.1.0"
