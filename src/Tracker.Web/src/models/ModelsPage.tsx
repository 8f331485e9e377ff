// Placeholder: this view is being built (issue 12); see the issue for what it must do.
export function ModelsPage(_: { name?: string }) {
  return <p>This view is not built yet.</p>;
}
