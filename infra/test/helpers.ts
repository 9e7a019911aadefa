import { App, Aspects, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { addNagSuppressions } from '../lib/nag';
import { PictorStack, PictorStackProps } from '../lib/pictor-stack';

export interface Synthesized {
  readonly stack: PictorStack;
  readonly template: Template;
}

/** The stack as `bin/pictor.ts` builds it, without running cargo-lambda (no bundling). */
// `change` runs before synthesis (an app synthesizes only once).
export function synth(
  props: Partial<PictorStackProps> = {},
  change: (stack: PictorStack) => void = () => {},
): Synthesized {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new PictorStack(app, 'Pictor', { namePrefix: 'pictor', ...props });
  addNagSuppressions(stack);
  change(stack);
  Aspects.of(app).add(new AwsSolutionsChecks());
  return { stack, template: Template.fromStack(stack) };
}

/** cdk-nag's unsuppressed findings, as `path: message` lines. */
export function nagFindings(stack: Stack): string[] {
  const annotations = Annotations.fromStack(stack);
  return [
    ...annotations.findError('*', Match.stringLikeRegexp('AwsSolutions-.*')),
    ...annotations.findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*')),
  ].map((a) => `${a.id}: ${String(a.entry.data).split('\n')[0]}`);
}

/** Resources of `type` in the template, by logical id. */
export function resources(template: Template, type: string): Record<string, any> {
  return template.findResources(type);
}
