"""What starting a background export posts: the year, and for the 汇总分析报告 its format."""

from django import forms

from evaluations.models import Framework


class ExportStartForm(forms.Form):
    year = forms.IntegerField(min_value=2000, max_value=2999, error_messages={
        "required": "请选择有指标体系的年度。", "invalid": "请选择有指标体系的年度。",
        "min_value": "请选择有指标体系的年度。", "max_value": "请选择有指标体系的年度。",
    })
    format = forms.ChoiceField(choices=[("docx", "Word"), ("pdf", "PDF")], required=False)

    def clean_year(self):
        year = self.cleaned_data["year"]
        if not Framework.objects.filter(year=year).exists():
            raise forms.ValidationError("请选择有指标体系的年度。")
        return year
