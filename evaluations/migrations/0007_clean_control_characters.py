"""Issue 13: texts are bounded (max_length on the long text fields, checked by the forms) and cleaned the way
evaluations.text.normalise cleans what is typed now, in every text already stored, field history included:
control characters from before (Word's U+000B, pasted by users) made every backup fail, and correcting the text
did not help since the history kept the old value. The rules are copied here, as they were when this ran."""

import re

from django.db import migrations, models
from django.db.models import Q

LINE_END = re.compile(r"\r\n?|\x0b")
CONTROL = re.compile(r"[\x00-\x08\x0c\x0e-\x1f\x7f-\x9f]")
TAB_AFTER_NUMBER = re.compile(r"^([ \u3000]*\d+[.．、])\t+", re.MULTILINE)
# Rows to look at, found by the database: a bracket of the characters themselves reads the same to SQLite
# (Python's re) and PostgreSQL; NUL is left out (PostgreSQL cannot hold one), tabs after a number are rare.
SUSPECT = "[" + "".join(map(chr, [*range(1, 9), *range(11, 14), *range(14, 32), *range(127, 160)])) + "]"


def normalise(text):
    if not isinstance(text, str):
        return text
    return TAB_AFTER_NUMBER.sub(r"\1", CONTROL.sub("", LINE_END.sub("\n", text)))


def clean_texts(apps, schema_editor):
    for model in apps.get_app_config("evaluations").get_models():
        texts = [f.name for f in model._meta.concrete_fields if isinstance(f, (models.CharField, models.TextField))]
        lists = [f.name for f in model._meta.concrete_fields if isinstance(f, models.JSONField)]
        if not texts and not lists:
            continue
        rows = model._base_manager.only("pk", *texts, *lists)
        if not lists:
            suspect = Q()
            for name in texts:
                suspect |= Q(**{f"{name}__regex": SUSPECT}) | Q(**{f"{name}__regex": "\t"})
            rows = rows.filter(suspect)
        changed, names = [], set()
        for row in rows.iterator(chunk_size=2000):
            dirty = False
            for name in texts:
                value = getattr(row, name)
                if normalise(value) != value:
                    setattr(row, name, normalise(value))
                    dirty = True
                    names.add(name)
            for name in lists:
                value = getattr(row, name)
                if isinstance(value, list) and any(normalise(v) != v for v in value):
                    setattr(row, name, [normalise(v) for v in value])
                    dirty = True
                    names.add(name)
            if dirty:
                changed.append(row)
        if changed:
            model._base_manager.bulk_update(changed, sorted(names), batch_size=500)



class Migration(migrations.Migration):

    dependencies = [
        ('evaluations', '0006_event_action_choices_structure'),
    ]

    operations = [
        migrations.AlterField(
            model_name='evaluation',
            name='budget_note',
            field=models.TextField(blank=True, help_text='预算执行率低于 90% 时必须说明原因。', max_length=2000, verbose_name='预算执行情况说明'),
        ),
        migrations.AlterField(
            model_name='event',
            name='reason',
            field=models.TextField(blank=True, max_length=1000, verbose_name='原因或意见'),
        ),
        migrations.AlterField(
            model_name='indicator',
            name='scoring_standard',
            field=models.TextField(blank=True, max_length=2000, verbose_name='评分标准'),
        ),
        migrations.AlterField(
            model_name='indicatorresult',
            name='deviation_reason',
            field=models.TextField(blank=True, max_length=500, verbose_name='偏差原因分析及改进措施'),
        ),
        migrations.AlterField(
            model_name='narrativesection',
            name='body',
            field=models.TextField(blank=True, help_text='每段一行。', max_length=6000, verbose_name='正文'),
        ),
        migrations.AlterField(
            model_name='reviewcomment',
            name='answer',
            field=models.TextField(blank=True, max_length=2000, verbose_name='单位答复'),
        ),
        migrations.AlterField(
            model_name='reviewcomment',
            name='text',
            field=models.TextField(max_length=2000, verbose_name='审核意见'),
        ),
        migrations.RunPython(clean_texts, migrations.RunPython.noop),
    ]
