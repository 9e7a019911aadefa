#!/usr/bin/env node
// `cdk synth` / `cdk deploy`: the whole pipeline in one stack, checked by cdk-nag.
import { App, Aspects } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { propsFromContext } from '../lib/context';
import { addNagSuppressions } from '../lib/nag';
import { PictorStack } from '../lib/pictor-stack';

// PICTOR_SKIP_BUILD=1 synthesizes without building the Rust functions (placeholder code
// assets), to read or diff the template on a machine without cargo-lambda.
const app = new App();
if (process.env.PICTOR_SKIP_BUILD === '1') {
  // Set here because the CDK CLI's own default (bundle every stack) overrides constructor context.
  app.node.setContext('aws:cdk:bundling-stacks', []);
}
const stack = new PictorStack(app, 'Pictor', propsFromContext((key) => app.node.tryGetContext(key)));
addNagSuppressions(stack);
Aspects.of(app).add(new AwsSolutionsChecks());
