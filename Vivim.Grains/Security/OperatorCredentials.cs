using Microsoft.Extensions.DependencyInjection;

namespace Vivim.Security;

/// <summary>
/// For in-cluster tools (operator tools, tests) that connect an Orleans client: every call they make without a
/// principal of its own acts as the operator. Needs the cluster secret, which is why only operators have it. Their calls
/// carry the caller's trace context into the cluster (<c>AddActivityPropagation</c>), as the silos' do.
/// </summary>
public static class OperatorCredentials
{
    public static IClientBuilder AddVivimOperatorCredentials(this IClientBuilder client, byte[] clusterSecret)
    {
        ArgumentNullException.ThrowIfNull(client);
        var principals = new CallPrincipals(clusterSecret);
        client.Services.AddSingleton<IOutgoingGrainCallFilter>(new OperatorCallStamp(principals));
        client.AddActivityPropagation();
        return client;
    }

    private sealed class OperatorCallStamp(CallPrincipals principals) : IOutgoingGrainCallFilter
    {
        public async Task Invoke(IOutgoingGrainCallContext context)
        {
            if (RequestContext.Get(CallPrincipals.ContextKey) is null)
            {
                // Set only for this call: the change ends with this async method.
                RequestContext.Set(CallPrincipals.ContextKey, principals.Mint(CallPrincipal.Operator));
            }

            await context.Invoke();
        }
    }
}
