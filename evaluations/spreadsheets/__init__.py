"""Excel in and out. Imports run one way, from the bottom up:

    cells     formula neutralising, the Chinese labels of stored values, shared column lists
    uploads   checks of an uploaded file as a whole (size, zip bomb, not a spreadsheet, formulas)
    widgets   django-import-export widgets and field factories with Chinese messages
    resources the admin's columns of each model, and what every import through them does
    admin     the ModelAdmin mixin: checked files, read once, admins only
    official  the official 自评表 layout: its writer and its reader together
    summary   the summary workbook of a year, streamed
    views     the official 自评表's download and its import (preview, then confirm)
"""
