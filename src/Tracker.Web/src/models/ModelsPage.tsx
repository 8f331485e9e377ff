// Models: the registry's models (/models) and one model with its versions and promotions (/models/:name).
import { ModelDetail } from "./ModelDetail";
import { ModelList } from "./ModelList";

export function ModelsPage({ name }: { name?: string }) {
  return name === undefined ? <ModelList /> : <ModelDetail name={name} />;
}
