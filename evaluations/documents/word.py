"""The 说明 as an editable Word document (python-docx), from the same outline as the HTML page and the PDF."""

import io

from evaluations.documents.outline import build_document

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

# The font names of Chinese official documents (GB/T 9704); Word and WPS substitute what a machine lacks.
TITLE_FONT = "方正小标宋简体"
HEADING_FONT = "黑体"
SUBHEADING_FONT = "楷体_GB2312"
BODY_FONT = "仿宋_GB2312"
PAGE_NUMBER_FONT = "宋体"
BODY_SIZE = 16  # 三号
TITLE_SIZE = 22  # 二号
TABLE_SIZE = 10.5  # 五号
LINE_SPACING = 28.95  # fixed: 22 lines in the 225 mm 版心

BLOCK_STYLES = {"title": "公文标题", "heading": "公文一级标题", "subheading": "公文二级标题"}


def render_docx(evaluation) -> bytes:
    """The 说明 and its 自评表 appendix as an editable Word document (.docx; WPS opens it too)."""
    import docx
    from docx.enum.section import WD_SECTION

    document = build_document(evaluation)
    word = docx.Document()
    word.core_properties.title = document.title
    word.core_properties.author = evaluation.unit.name
    styles = _add_styles(word)
    section = word.sections[0]
    _page_setup(section)
    _add_page_numbers(word, section, styles)  # the appendix's section carries on with the same footers
    for block in document.blocks:
        _paragraph(word, block.printed, BLOCK_STYLES.get(block.kind, "Normal"), styles)

    if document.tables:
        appendix = word.add_section(WD_SECTION.NEW_PAGE)  # its footer continues the page numbers
        _page_setup(appendix, landscape=True)
        _paragraph(word, "附件", "附件标记", styles)
        _paragraph(word, document.appendix_title, "附件标题", styles)
        text_width = appendix.page_width - appendix.left_margin - appendix.right_margin
        for table in document.tables:
            _paragraph(word, table.caption, "表题", styles)
            _table(word, table, text_width, styles)

    buffer = io.BytesIO()
    word.save(buffer)
    return buffer.getvalue()


def _set_fonts(element, name):
    """Name the font for every script: w:ascii/w:hAnsi (what python-docx sets) and w:eastAsia, which Word and
    WPS read for Chinese characters; without it they fall back to the theme's East Asian font."""
    from docx.oxml.ns import qn

    rfonts = element.get_or_add_rPr().get_or_add_rFonts()
    for attribute in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        rfonts.set(qn(attribute), name)


def _indent(paragraph_format_element, chars: int):
    """First-line indent in characters (w:firstLineChars, which Word prefers) and in points for other readers."""
    from docx.oxml.ns import qn
    from docx.shared import Pt

    ppr = paragraph_format_element.get_or_add_pPr()
    ind = ppr.get_or_add_ind()
    ind.set(qn("w:firstLine"), str(int(Pt(BODY_SIZE * chars).twips)))
    ind.set(qn("w:firstLineChars"), str(chars * 100))


def _add_styles(word) -> dict[str, str]:
    """The document's paragraph styles, so staff editing in Word keep the layout; returns name → style id."""
    from docx.enum.style import WD_STYLE_TYPE
    from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Pt

    styles = word.styles
    normal = styles["Normal"]
    normal.font.size = Pt(BODY_SIZE)
    _set_fonts(normal.element, BODY_FONT)
    fmt = normal.paragraph_format
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = Pt(LINE_SPACING)
    fmt.space_before = fmt.space_after = Pt(0)
    fmt.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    _indent(normal.element, 2)

    def add(name, font, size, indent=0, align=None, outline=None, spacing=None):
        style = styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.base_style = normal
        style.quick_style = True
        style.font.size = Pt(size)
        _set_fonts(style.element, font)
        if spacing is not None:
            style.paragraph_format.line_spacing_rule = spacing
        if align is not None:
            style.paragraph_format.alignment = align
        _indent(style.element, indent)
        if outline is not None:  # shows in Word's navigation pane and table of contents
            level = OxmlElement("w:outlineLvl")
            level.set(qn("w:val"), str(outline))
            style.element.get_or_add_pPr().append(level)
        return style

    title = add("公文标题", TITLE_FONT, TITLE_SIZE, align=WD_ALIGN_PARAGRAPH.CENTER)
    title.paragraph_format.line_spacing = Pt(36)
    title.paragraph_format.space_after = Pt(LINE_SPACING)
    add("公文一级标题", HEADING_FONT, BODY_SIZE, indent=2, outline=0)
    add("公文二级标题", SUBHEADING_FONT, BODY_SIZE, indent=2, outline=1)
    add("附件标记", HEADING_FONT, BODY_SIZE, align=WD_ALIGN_PARAGRAPH.LEFT)
    add("附件标题", TITLE_FONT, 18, align=WD_ALIGN_PARAGRAPH.CENTER)
    add("表题", HEADING_FONT, 12, align=WD_ALIGN_PARAGRAPH.CENTER, spacing=WD_LINE_SPACING.SINGLE)
    add("表格文字", BODY_FONT, TABLE_SIZE, align=WD_ALIGN_PARAGRAPH.LEFT, spacing=WD_LINE_SPACING.SINGLE)
    add("表头", HEADING_FONT, TABLE_SIZE, align=WD_ALIGN_PARAGRAPH.CENTER, spacing=WD_LINE_SPACING.SINGLE)
    add("页码", PAGE_NUMBER_FONT, 14, align=WD_ALIGN_PARAGRAPH.CENTER, spacing=WD_LINE_SPACING.SINGLE)
    # Setting a paragraph's style by name searches all styles each time (most of the time of a table).
    return {style.name: style.style_id for style in styles if style.type == WD_STYLE_TYPE.PARAGRAPH}


def _page_setup(section, landscape=False):
    """A4 with the 公文 margins (天头 37 mm, 订口 28 mm: a 156 × 225 mm 版心); the appendix turns to landscape."""
    from docx.enum.section import WD_ORIENT
    from docx.shared import Mm

    if landscape:
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = Mm(297), Mm(210)
        section.top_margin, section.bottom_margin = Mm(25), Mm(28)
        section.left_margin = section.right_margin = Mm(20)
    else:
        section.orientation = WD_ORIENT.PORTRAIT
        section.page_width, section.page_height = Mm(210), Mm(297)
        section.top_margin, section.bottom_margin = Mm(37), Mm(35)
        section.left_margin, section.right_margin = Mm(28), Mm(26)
    section.footer_distance = Mm(25)


def _add_page_numbers(word, section, styles):
    """Page numbers at the outside edge (GB/T 9704 7.5): odd pages at the right, even pages at the left, one
    character in (odd and even footers)."""
    word.settings.odd_and_even_pages_header_footer = True
    _add_page_number(section.footer, styles, at_right=True)
    _add_page_number(section.even_page_footer, styles, at_right=False)


def _add_page_number(footer, styles, at_right):
    """「— 1 —」in a footer, at its right or left edge one character in: a PAGE field, so Word and WPS number
    every page."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Pt

    paragraph = footer.paragraphs[0]
    paragraph._p.style = styles["页码"]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT if at_right else WD_ALIGN_PARAGRAPH.LEFT
    if at_right:
        paragraph.paragraph_format.right_indent = Pt(14)
    else:
        paragraph.paragraph_format.left_indent = Pt(14)
    _run(paragraph, "— ", PAGE_NUMBER_FONT)
    for kind, text in (("begin", None), ("instr", " PAGE "), ("separate", None), ("text", "1"), ("end", None)):
        run = _run(paragraph, text if kind == "text" else "", PAGE_NUMBER_FONT)
        if kind == "instr":
            instr = OxmlElement("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = text
            run._r.append(instr)
        elif kind != "text":
            char = OxmlElement("w:fldChar")
            char.set(qn("w:fldCharType"), kind)
            run._r.append(char)
    _run(paragraph, " —", PAGE_NUMBER_FONT)


STYLE_FONTS = {
    "Normal": BODY_FONT, "公文标题": TITLE_FONT, "公文一级标题": HEADING_FONT, "公文二级标题": SUBHEADING_FONT,
    "附件标记": HEADING_FONT, "附件标题": TITLE_FONT, "表题": HEADING_FONT, "表格文字": BODY_FONT, "表头": HEADING_FONT,
}


def _run(paragraph, text, font, bold=False):
    run = paragraph.add_run(text)
    _set_fonts(run._r, font)  # on the run as well as the style, so text pasted elsewhere keeps its face
    if bold:
        run.bold = True
    return run


def _paragraph(container, text, style, styles):
    paragraph = container.add_paragraph()
    paragraph._p.style = styles[style]
    _run(paragraph, text, STYLE_FONTS[style])
    return paragraph


def _table(word, table, text_width, styles):
    """Draw a documents.Table: place each cell on the grid (skipping places taken by spans above), merge its
    span, then write its text."""
    from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Emu
    from docx.table import _Cell

    columns = len(table.widths)
    head = 1 if table.columns else 0  # the project table's headings are cells of its grid
    grid = word.add_table(rows=head + len(table.rows), cols=columns)
    grid.style = "Table Grid"
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    # Explicit widths everywhere a reader looks, never autofit (issue 14: WPS and LibreOffice otherwise size the
    # columns to their content): a fixed layout, the table's own width, the grid's columns and every cell.
    grid.autofit = False  # <w:tblLayout w:type="fixed"/>
    widths = [int(text_width * w / 100) for w in table.widths]
    for column, width in zip(grid.columns, widths, strict=True):
        column.width = width
    table_width = grid._tbl.tblPr.find(qn("w:tblW"))
    table_width.set(qn("w:type"), "dxa")
    table_width.set(qn("w:w"), str(sum(Emu(w).twips for w in widths)))
    rows = grid._tbl.tr_lst
    for tr in rows:
        tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
        for tc, width in zip(tr.tc_lst, widths, strict=True):
            tc.width = width
    if head:
        rows[0].get_or_add_trPr().append(OxmlElement("w:tblHeader"))  # repeated on every page

    def write(tc, text, style, numeric=False, bold=False):
        cell = _Cell(tc, grid)
        cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
        paragraph = cell.paragraphs[0]
        paragraph._p.style = styles[style]
        if numeric:
            paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        _run(paragraph, text, STYLE_FONTS[style], bold=bold)

    if head:
        for tc, name in zip(rows[0].tc_lst, table.columns, strict=True):
            write(tc, name, "表头")

    taken = set()
    placed = []
    for r, row in enumerate(table.rows, start=head):
        c = 0
        for cell in row.cells:
            while (r, c) in taken:
                c += 1
            taken.update((r + dr, c + dc) for dr in range(cell.rowspan) for dc in range(cell.colspan))
            placed.append((rows[r].tc_lst[c], rows[r + cell.rowspan - 1].tc_lst[c + cell.colspan - 1], cell, row.kind))
            c += cell.colspan
    # Merging removes the swallowed <w:tc> of horizontal spans, so every corner is looked up before any merge.
    for first, last, cell, kind in placed:
        tc = first.merge(last) if first is not last else first
        write(tc, cell.text, "表头" if cell.header else "表格文字", numeric=cell.numeric, bold=kind == "total")


def render_project_docx(project) -> bytes:
    """A project's 项目支出绩效自评表 (national layout) as an editable Word document, landscape A4."""
    import docx

    from evaluations.documents.project_table import build_project_document

    document = build_project_document(project)
    word = docx.Document()
    word.core_properties.title = f"{document.title}{document.subtitle}{project.name}"
    word.core_properties.author = project.evaluation.unit.name
    styles = _add_styles(word)
    section = word.sections[0]
    _page_setup(section, landscape=True)
    _add_page_numbers(word, section, styles)
    _paragraph(word, document.title, "附件标题", styles)
    _paragraph(word, document.subtitle, "表题", styles)
    _table(word, document.table, section.page_width - section.left_margin - section.right_margin, styles)
    buffer = io.BytesIO()
    word.save(buffer)
    return buffer.getvalue()
