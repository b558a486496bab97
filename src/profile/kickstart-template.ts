// The kickstart layout (Anaconda, RHEL 8/9): main commands, %packages, %pre, %post, each section
// closed with %end. Rendered with handlebars in strict, no-escape mode.
import Handlebars from 'handlebars';

const hb = Handlebars.create();

export const KICKSTART = `# netroot kickstart for {{hostname}} (appliance {{appliance}}, graph {{graph}})
# nodes, in order: {{nodes}}
{{#each main}}
{{this}}
{{/each}}

%packages --ignoremissing
{{#each packages}}
{{this}}
{{/each}}
%end
{{#each pre}}

# node: {{this.node}}
{{this.header}}
{{this.body}}
%end
{{/each}}
{{#each post}}

# node: {{this.node}}
{{this.header}}
{{this.body}}
%end
{{/each}}
`;

export const renderKickstart = hb.compile<{
  hostname: string;
  appliance: string;
  graph: string;
  nodes: string;
  main: string[];
  packages: string[];
  pre: Array<{ header: string; body: string; node: string }>;
  post: Array<{ header: string; body: string; node: string }>;
}>(KICKSTART, { strict: true, noEscape: true });
