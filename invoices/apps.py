from django.apps import AppConfig


class InvoicesConfig(AppConfig):
    name = "invoices"
    verbose_name = "Invoices"

    def ready(self) -> None:
        # Sign-ins and failed sign-ins (lock-outs too) go to the audit trail.
        from axes.signals import user_locked_out
        from django.contrib.auth.signals import user_logged_in, user_login_failed

        from . import sign_ins

        user_logged_in.connect(sign_ins.sign_in_recorded, dispatch_uid="audit-sign-in")
        user_login_failed.connect(
            sign_ins.sign_in_failure_recorded, dispatch_uid="audit-sign-in-failed"
        )
        user_locked_out.connect(sign_ins.lock_out_recorded, dispatch_uid="audit-locked-out")
