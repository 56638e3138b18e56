"""The 说明 of one evaluation: its outline (outline.py), rendered as HTML and PDF (html_pdf.py) and as Word
(word.py), the PDF kept once rendered and rendered a few at a time (rendered.py), archived at approval
(archive.py), and the views that serve the three formats (views.py).

Imports run one way: outline ← html_pdf, word ← rendered ← archive ← views.
"""
