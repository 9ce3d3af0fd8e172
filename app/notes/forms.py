from django import forms

from notes.models import Note


class NoteForm(forms.ModelForm):
    class Meta:
        model = Note
        fields = ("title", "body", "category")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Optional in the API: an omitted category takes the model's default.
        self.fields["category"].required = False

    def clean_category(self) -> str:
        return self.cleaned_data.get("category") or Note.Category.GENERAL
