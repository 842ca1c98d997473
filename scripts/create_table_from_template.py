"""Creates the DynamoDB table exactly as template.yaml's ScimTable defines it, on the emulator.

    create_table_from_template.py TEMPLATE TABLE_NAME

Key schema, attribute definitions, indexes, billing mode and stream settings come from the
template itself, so the Lambda-mode test runs against the table a deployment gets, not the one
the store's own create_table_if_missing builds. CloudFormation tags (!Ref, !Sub, ...) only
appear in properties the table creation does not use; they load as plain values.
"""

import sys

import boto3
import yaml


class TemplateLoader(yaml.SafeLoader):
    pass


def _any_tag(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_mapping(node)


TemplateLoader.add_multi_constructor("!", _any_tag)


def main():
    template_path, table_name = sys.argv[1], sys.argv[2]
    with open(template_path) as f:
        template = yaml.load(f, Loader=TemplateLoader)
    props = template["Resources"]["ScimTable"]["Properties"]
    args = {
        "TableName": table_name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props["BillingMode"],
        "GlobalSecondaryIndexes": props.get("GlobalSecondaryIndexes", []),
    }
    stream = props.get("StreamSpecification")
    if stream:
        args["StreamSpecification"] = {"StreamEnabled": True, **stream}
    client = boto3.client("dynamodb")
    client.create_table(**args)
    client.get_waiter("table_exists").wait(TableName=table_name)
    print(f"created {table_name} as template.yaml defines it")


if __name__ == "__main__":
    main()
