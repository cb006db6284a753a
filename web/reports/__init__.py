"""Client reports: a PNG per ad and a PDF per study, shared by revocable links."""
