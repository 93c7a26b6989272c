"""Attachments are content: PDF, XLSX/XLS, DOCX, PPTX, HWPX/HWP, CSV/TXT (and images, with
OCR) under the manuals root or linked from its pages are indexed as documents of their
own, cited at their place inside the file and with the manual section linking to them.

  sniff.py      the type from the bytes (magic numbers, container members), never the name
  safety.py     ZIP size/ratio limits checked before a reader opens a package
  units.py      the typed result: units (page, sheet, slide, heading section) with blocks and tables
  pdf.py xlsx.py xls.py docx.py pptx.py owpml.py (HWPX, HWP) plain.py (CSV, TXT) image.py ocr.py
  grid.py       rows + merged ranges -> ingest.tables.Table (same prose path as HTML tables)
  document.py   units -> Page/Section, so ingest.chunk chunks them like pages
  build.py      one attachment -> FileResult in a parser process
  step.py       the run's attachment pass: hashes, link context, parse, store, report
"""
