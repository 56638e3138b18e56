"""The 说明 of one evaluation: its outline (outline.py), rendered as HTML and PDF (html_pdf.py) and as Word
(word.py), the PDF kept once rendered and rendered a few at a time (rendered.py), archived at approval
(archive.py), and the views that serve the three formats (views.py). The year's 汇总分析报告 (summary.py) and the
复核意见书 (recheck.py) build their own outlines from the same blocks and print through the same writers.

Imports run one way: outline ← html_pdf, word ← rendered ← archive ← views; outline, html_pdf, word ← summary ←
recheck.
"""
